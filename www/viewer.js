// viewer: one file in a dialog. Images through a transform sized to the
// viewport (with zoom), video and audio in the native elements (they
// seek with Range), PDF in a frame of a blob: URL (a stored file is
// served with "Content-Security-Policy: sandbox", where no PDF viewer
// runs; the app's CSP allows frame-src blob: for this alone), text up to
// its first MiB, and a download link for everything.
import { h, fmtSize } from './dom.js';
import { fileUrl, HEADERS } from './api.js';
import { openDialog } from './dialog.js';

const TEXT_MAX = 1024 * 1024;
const PDF_MAX = 64 * 1024 * 1024;

export const isImage = (t) => /^image\/(jpeg|png|webp|gif|avif|heic|heif)$/.test(t);
const isText = (t) => /^text\/|^application\/(json|xml|x-yaml|yaml|javascript)/.test(t);
const baseName = (k) => k.slice(k.lastIndexOf('/') + 1);

function imageView(f) {
	const w = Math.min(4096, Math.round(Math.min(window.innerWidth, 1600) * (window.devicePixelRatio || 1)));
	const img = h('img', { class: 'view-img', src: fileUrl(f.key, { width: w, format: 'webp' }), alt: baseName(f.key) });
	let zoom = 1;
	const label = h('span', { class: 'zoom', 'aria-live': 'polite', text: '100 %' });
	// Zoom by width (1 = fitted to the frame), so that the frame scrolls
	// over the whole enlarged image.
	const set = (z) => {
		zoom = Math.min(8, Math.max(0.25, z));
		const fit = Math.min(img.naturalWidth || 0, frame.clientWidth) || frame.clientWidth;
		img.classList.toggle('zoomed', zoom !== 1);
		img.style.width = zoom === 1 ? '' : `${Math.round(fit * zoom)}px`;
		label.textContent = `${Math.round(zoom * 100)} %`;
	};
	const frame = h('div', { class: 'img-frame', tabindex: '0', role: 'group', 'aria-label': 'Image, scrollable when zoomed' }, img);
	return [frame, h('div', { class: 'row' },
	    h('button', { type: 'button', 'aria-label': 'Zoom out', on: { click: () => set(zoom / 1.25) } }, '−'),
	    label,
	    h('button', { type: 'button', 'aria-label': 'Zoom in', on: { click: () => set(zoom * 1.25) } }, '+'),
	    h('button', { type: 'button', on: { click: () => set(1) } }, 'Fit'))];
}

function textView(f) {
	const pre = h('pre', { class: 'view-text', tabindex: '0', 'aria-label': `Contents of ${baseName(f.key)}`, text: 'Loading…' });
	const note = h('p', { class: 'muted' });
	fetch(fileUrl(f.key), { headers: { ...HEADERS, Range: `bytes=0-${TEXT_MAX - 1}` }, credentials: 'same-origin' })
	    .then(async (r) => {
		if (!r.ok) throw new Error(`${r.status}`);
		const buf = await r.arrayBuffer();
		pre.textContent = new TextDecoder('utf-8', { fatal: false }).decode(buf.slice(0, TEXT_MAX));
		if (f.size > TEXT_MAX) note.textContent = `Showing the first MiB of ${fmtSize(f.size)}.`;
	    }).catch((e) => { pre.textContent = ''; note.textContent = `Cannot load the text (${e.message}).`; });
	return [pre, note];
}

// The PDF's bytes as a blob: URL in a frame, revoked when the viewer
// closes (cleanups).
function pdfView(f, cleanups) {
	const name = baseName(f.key);
	const frame = h('iframe', { class: 'view-pdf', title: `PDF: ${name}` });
	const note = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
	if (f.size > PDF_MAX) {
		note.textContent = `This PDF is ${fmtSize(f.size)}: download it to read it.`;
		return [note];
	}
	let url = null;
	cleanups.push(() => { if (url) URL.revokeObjectURL(url); url = null; });
	fetch(fileUrl(f.key), { headers: HEADERS, credentials: 'same-origin' })
	    .then(async (r) => {
		if (!r.ok) throw new Error(`${r.status}`);
		const b = await r.arrayBuffer();
		if (!frame.isConnected) return;
		url = URL.createObjectURL(new Blob([b], { type: 'application/pdf' }));
		frame.src = url;
		note.textContent = '';
	    }).catch((e) => { frame.remove(); note.textContent = `Cannot load the PDF (${e.message}): download it instead.`; });
	return [frame, note];
}

function bodyFor(f, cleanups) {
	const t = f.contentType || '';
	if (isImage(t)) return imageView(f);
	if (t.startsWith('video/'))
		return [h('video', { class: 'view-media', controls: true, preload: 'metadata', src: fileUrl(f.key), 'aria-label': baseName(f.key) })];
	if (t.startsWith('audio/'))
		return [h('audio', { class: 'view-audio', controls: true, preload: 'metadata', src: fileUrl(f.key), 'aria-label': baseName(f.key) })];
	if (t === 'application/pdf') return pdfView(f, cleanups);
	if (isText(t)) return textView(f);
	return [h('p', { text: `No preview for ${t || 'this type'}.` })];
}

export function openViewer(f) {
	const cleanups = [];
	const d = openDialog({
		title: baseName(f.key),
		wide: true,
		onClose: () => cleanups.forEach((c) => c()),
		body: [h('p', { class: 'muted', text: `${f.key} · ${f.contentType} · ${fmtSize(f.size)}` }), bodyFor(f, cleanups)],
		actions: [h('a', { class: 'button', href: fileUrl(f.key), download: baseName(f.key) }, 'Download')],
	});
	d.el.classList.add('viewer');
	return d;
}
