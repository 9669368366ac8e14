// dom: the one way the app builds DOM. Data reaches the page only as
// text (text nodes, textContent, attributes); nothing here parses HTML.

// h('button', {class: 'x', on: {click: f}, 'aria-label': 'y'}, 'text', child)
// Keys with '-' and those in ATTRS are attributes; 'class' is className;
// 'on' binds listeners; anything else is a property (type, value, ...).
const ATTRS = new Set(['for', 'role', 'tabindex', 'colspan']);
export function h(tag, props, ...kids) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(props || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'class') el.className = v;
		else if (k === 'on') for (const [ev, f] of Object.entries(v)) el.addEventListener(ev, f);
		else if (k === 'text') el.textContent = v;
		else if (k.includes('-') || ATTRS.has(k)) el.setAttribute(k, v === true ? '' : String(v));
		else el[k] = v;
	}
	append(el, kids);
	return el;
}

export function append(el, kids) {
	for (const k of kids.flat(Infinity)) {
		if (k === null || k === undefined || k === false) continue;
		el.append(k instanceof Node ? k : document.createTextNode(String(k)));
	}
	return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function fmtSize(n) {
	if (n < 1024) return `${n} B`;
	const u = ['KiB', 'MiB', 'GiB', 'TiB'];
	let i = -1;
	do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
	return `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
}

// One formatter for every date: toLocaleString() builds one per call,
// which costs more than the rest of a row.
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function fmtDate(s) {
	if (!s) return '—';
	const d = new Date(s);
	return isNaN(d) ? s : DATE.format(d);
}

export function fmtDuration(s) {
	if (!isFinite(s)) return '—';
	s = Math.round(s);
	if (s < 60) return `${s} s`;
	if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
	return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
}

let toastSeq = 0;
// A short message in the live region; errors stay until dismissed.
export function toast(msg, kind = 'info') {
	const box = document.getElementById('toasts');
	const id = `toast-${++toastSeq}`;
	const t = h('div', { class: `toast ${kind}`, id },
	    h('span', { text: msg }),
	    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss message',
	        on: { click: () => t.remove() } }, '×'));
	box.append(t);
	while (box.children.length > 3) box.firstElementChild.remove();
	if (kind !== 'error') setTimeout(() => t.remove(), 5000);
	return t;
}

// Run fn, which re-renders part of the page; if the focused control was
// replaced by one with the same accessible name, focus that one (a list
// refreshed after a dialog closes keeps the focus where the dialog
// returned it).
export function keepFocus(fn) {
	const a = document.activeElement;
	const label = a && a.getAttribute('aria-label');
	fn();
	if (label && !a.isConnected) {
		const b = [...document.querySelectorAll('[aria-label]')].find((x) => x.getAttribute('aria-label') === label);
		if (b) b.focus();
	}
}

// A wide table in a box that scrolls sideways on a narrow screen (and
// can be scrolled from the keyboard), so the page itself never does.
export const tableWrap = (label, table) =>
	h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': label }, table);
