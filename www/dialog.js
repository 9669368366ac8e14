// dialog: modal dialogs on <dialog>.showModal() (the page behind is
// inert), with Tab kept inside, Escape to close, and focus returned to
// the control that opened it.
import { h } from './dom.js';

let seq = 0;
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), video[controls], audio[controls], [tabindex]:not([tabindex="-1"])';

// openDialog({title, body: [nodes], actions: [nodes], wide, onClose})
// -> {el, close()}. The title labels the dialog.
export function openDialog({ title, body = [], actions = [], wide = false, onClose, label }) {
	const back = document.activeElement;
	const id = `dlg-${++seq}`;
	const close = () => { if (el.open) el.close(); };
	const el = h('dialog', { class: wide ? 'wide' : '', 'aria-labelledby': `${id}-t` },
	    h('header', {},
	        h('h2', { id: `${id}-t`, text: title }),
	        h('button', { type: 'button', class: 'icon', 'aria-label': label || `Close ${title}`,
	            on: { click: close } }, '×')),
	    h('div', { class: 'body' }, body),
	    actions.length ? h('footer', {}, actions) : null);
	el.addEventListener('keydown', (ev) => {
		if (ev.key !== 'Tab') return;
		const f = [...el.querySelectorAll(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement);
		if (!f.length) return;
		const first = f[0], last = f[f.length - 1];
		if (ev.shiftKey && document.activeElement === first) { last.focus(); ev.preventDefault(); }
		else if (!ev.shiftKey && document.activeElement === last) { first.focus(); ev.preventDefault(); }
	});
	el.addEventListener('close', () => {
		el.remove();
		if (onClose) onClose();
		if (back && back.isConnected && typeof back.focus === 'function') back.focus();
	});
	document.body.append(el);
	el.showModal();
	const auto = el.querySelector('[autofocus]') ||
	    el.querySelector('.body input, .body select, .body button, .body a[href]') ||
	    el.querySelector('header button');
	if (auto) auto.focus();
	return { el, close };
}

// confirmDialog(title, text, verb) -> Promise<boolean>
export function confirmDialog(title, text, verb = 'OK', danger = true) {
	return new Promise((resolve) => {
		let ok = false;
		const d = openDialog({
			title,
			body: [h('p', { text })],
			actions: [
				h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'),
				h('button', { type: 'button', class: danger ? 'danger' : 'primary', autofocus: true,
				    on: { click: () => { ok = true; d.close(); } } }, verb),
			],
			onClose: () => resolve(ok),
		});
	});
}

// promptDialog(title, label, value) -> Promise<string|null>
export function promptDialog(title, label, value = '', verb = 'Save') {
	return new Promise((resolve) => {
		let out = null;
		const id = `p-${++seq}`;
		const input = h('input', { id, type: 'text', value, required: true, autofocus: true });
		const form = h('form', { on: { submit: (ev) => { ev.preventDefault(); out = input.value.trim(); d.close(); } } },
		    h('label', { for: id, text: label }), input,
		    h('div', { class: 'row end' },
		        h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'),
		        h('button', { type: 'submit', class: 'primary' }, verb)));
		const d = openDialog({ title, body: [form], onClose: () => resolve(out || null) });
	});
}
