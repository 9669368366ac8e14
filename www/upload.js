// upload: many files at once, each with a progress bar, speed, time left
// and Cancel. Small files go up with one PUT (XMLHttpRequest, for its
// progress events); files of TUS_MIN bytes and more go through tus 1.0
// (/api/uploads) when the server offers it, resuming after a dropped
// connection or a page reload, and fall back to PUT when it does not.
import { h, fmtSize, fmtDuration } from './dom.js';
import { fileUrl, keyPath, HEADERS, patch } from './api.js';

// Files from this size on go through tus when the server offers it. The
// tests lower it (localStorage "filestor.tusMin") to reach that path.
const TUS_MIN = Number(localStorage.getItem('filestor.tusMin')) || 64 * 1024 * 1024;
const TUS_CHUNK = 8 * 1024 * 1024;
const PARALLEL = 3;

// What a failed upload's status means to the person uploading.
function explain(status, message) {
	switch (status) {
	case 0: return 'Network error: the connection was lost.';
	case 401: return 'Your session has ended: sign in again.';
	case 403: return `Not allowed: ${message || 'you may not upload here.'}`;
	case 409: return `Conflict: ${message}`;
	case 413: return `Too large: ${message || 'the file is over the upload limit.'}`;
	case 422: return `Refused: ${message}`;
	case 507: return 'The server is out of space.';
	default: return `Failed (${status}): ${message || 'server error'}`;
	}
}

function xhrError(xhr) {
	let m = '';
	try { m = JSON.parse(xhr.responseText).error.message; } catch { /* not JSON */ }
	return { status: xhr.status, message: explain(xhr.status, m) };
}

// One XHR; resolves with it on 2xx, rejects {status, message} otherwise.
function send(method, url, headers, body, onProgress, job) {
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		job.xhr = xhr;
		xhr.open(method, url);
		for (const [k, v] of Object.entries({ ...HEADERS, ...headers })) xhr.setRequestHeader(k, v);
		if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
		xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr) : reject(xhrError(xhr)));
		xhr.onerror = () => reject({ status: 0, message: explain(0) });
		xhr.onabort = () => reject({ status: -1, message: 'Cancelled.' });
		xhr.send(body);
	});
}

const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

let tusOffered;
async function tusAvailable() {
	if (tusOffered === undefined) {
		try {
			const r = await fetch('/api/uploads', { method: 'OPTIONS', headers: HEADERS });
			tusOffered = r.ok && (r.headers.get('Tus-Version') || '').split(',').includes('1.0.0');
		} catch { tusOffered = false; }
	}
	return tusOffered;
}

// tus 1.0: create (or find the stored URL of this file), then PATCH
// chunks from the server's offset; after a failure ask HEAD for the
// offset and go on, a few times with a growing pause.
async function tusUpload(job, progress) {
	const f = job.file;
	const mem = `filestor-tus:${job.key}:${f.size}:${f.lastModified}`;
	const tus = { 'Tus-Resumable': '1.0.0' };
	let url = localStorage.getItem(mem);
	let offset = 0;
	if (url) {
		try {
			const x = await send('HEAD', url, tus, null, null, job);
			offset = Number(x.getResponseHeader('Upload-Offset'));
		} catch (e) {
			if (e.status === -1) throw e;
			url = null;
		}
	}
	if (!url) {
		const meta = [`key ${b64(job.key)}`, `contentType ${b64(f.type || 'application/octet-stream')}`];
		if (job.folderId) meta.push(`folderId ${b64(job.folderId)}`);
		const x = await send('POST', '/api/uploads', { ...tus, 'Upload-Length': String(f.size),
		    'Upload-Metadata': meta.join(',') }, null, null, job);
		url = new URL(x.getResponseHeader('Location'), location.href).pathname;
		localStorage.setItem(mem, url);
	}
	let tries = 0;
	while (offset < f.size) {
		const end = Math.min(offset + TUS_CHUNK, f.size);
		try {
			const x = await send('PATCH', url, { ...tus, 'Upload-Offset': String(offset),
			    'Content-Type': 'application/offset+octet-stream' }, f.slice(offset, end),
			    (n) => progress(offset + n), job);
			offset = Number(x.getResponseHeader('Upload-Offset'));
			tries = 0;
		} catch (e) {
			if (e.status === -1 || (e.status >= 400 && e.status !== 409) || ++tries > 5) throw e;
			job.note(`Connection lost; resuming (try ${tries})…`);
			await new Promise((r) => setTimeout(r, 500 * 2 ** tries));
			const x = await send('HEAD', url, tus, null, null, job);
			offset = Number(x.getResponseHeader('Upload-Offset'));
		}
	}
	localStorage.removeItem(mem);
}

async function putUpload(job, progress) {
	await send('PUT', fileUrl(job.key), { 'Content-Type': job.file.type || 'application/octet-stream' },
	    job.file, progress, job);
	if (job.folderId)
		await patch(`/api/storage/${keyPath(job.key)}`, { folderId: job.folderId });
}

// The upload panel: addFiles(files, prefix, folderId) queues them.
export function uploadPanel(onDone) {
	const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
	const panel = h('section', { class: 'upload-panel', 'aria-label': 'Uploads', hidden: true },
	    h('div', { class: 'row' }, h('h2', { text: 'Uploads' }),
	        h('button', { type: 'button', class: 'link', on: { click: () => {
	            for (const li of [...list.children]) if (li.dataset.done) li.remove();
	            panel.hidden = !list.children.length;
	        } } }, 'Clear finished')),
	    list);
	const queue = [];
	let running = 0;

	function pump() {
		while (running < PARALLEL && queue.length) {
			const job = queue.shift();
			running++;
			run(job).finally(() => { running--; pump(); });
		}
	}

	async function run(job) {
		const t0 = performance.now();
		const progress = (n) => {
			job.bar.value = n;
			const dt = (performance.now() - t0) / 1000;
			const speed = n / Math.max(dt, 0.001);
			job.note(`${fmtSize(n)} of ${fmtSize(job.file.size)} · ${fmtSize(speed)}/s · ${fmtDuration((job.file.size - n) / speed)} left`);
			job.li.dispatchEvent(new CustomEvent('upload-progress', { detail: n, bubbles: true }));
		};
		job.note('Starting…');
		try {
			if (job.cancelled) throw { status: -1, message: 'Cancelled.' };
			if (job.file.size >= TUS_MIN && await tusAvailable()) await tusUpload(job, progress);
			else await putUpload(job, progress);
			job.bar.value = job.file.size;
			job.finish('done', `Uploaded ${fmtSize(job.file.size)}.`);
			onDone();
		} catch (e) {
			job.finish(e.status === -1 ? 'cancelled' : 'error', e.message || String(e));
		}
	}

	function addFiles(files, prefix, folderId) {
		panel.hidden = false;
		for (const file of files) {
			const job = { file, key: prefix + file.name, folderId, cancelled: false };
			const status = h('span', { class: 'status', 'aria-live': 'polite' });
			job.bar = h('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload of ${file.name}` });
			const cancel = h('button', { type: 'button', class: 'small', 'aria-label': `Cancel upload of ${file.name}`,
			    on: { click: () => { job.cancelled = true; if (job.xhr) job.xhr.abort(); } } }, 'Cancel');
			job.li = h('li', { class: 'upload' }, h('span', { class: 'name', text: job.key }), job.bar, status, cancel);
			job.note = (t) => { status.textContent = t; };
			job.finish = (state, t) => {
				job.li.dataset.done = state;
				job.li.classList.add(state);
				cancel.remove();
				job.note(t);
			};
			list.append(job.li);
			queue.push(job);
		}
		pump();
	}
	return { panel, addFiles };
}
