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

// A tus upload's URL is kept in localStorage under its fingerprint (the
// key, size and modification time of the file), so that choosing the
// same file again, after a dropped connection or a page reload, resumes
// it; the value also names it for the list of unfinished uploads.
const MEM = 'filestor-tus:';
const fingerprint = (key, f) => `${MEM}${key}:${f.size}:${f.lastModified}`;
function remembered(mem) {
	try { return JSON.parse(localStorage.getItem(mem)); } catch { return null; }
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const TUS = { 'Tus-Resumable': '1.0.0' };

// The server's offset of an upload, or the failure of the HEAD.
async function tusOffset(url, job) {
	const x = await send('HEAD', url, TUS, null, null, job);
	return Number(x.getResponseHeader('Upload-Offset'));
}

// tus 1.0: create (or find the stored URL of this file), then PATCH
// chunks from the server's offset. After a lost connection (or a 409:
// another request still held the upload) ask HEAD for the offset and go
// on, up to 6 times in a row with a growing pause.
async function tusUpload(job, progress) {
	const f = job.file;
	const mem = fingerprint(job.key, f);
	const old = remembered(mem);
	let url = old && old.url;
	let offset = 0;
	if (url) {
		try {
			offset = await tusOffset(url, job);
			job.note(`Resuming at ${fmtSize(offset)}…`);
		} catch (e) {
			if (e.status === -1) throw e;
			url = null;
		}
	}
	if (!url) {
		const meta = [`key ${b64(job.key)}`, `contentType ${b64(f.type || 'application/octet-stream')}`];
		if (job.folderId) meta.push(`folderId ${b64(job.folderId)}`);
		const x = await send('POST', '/api/uploads', { ...TUS, 'Upload-Length': String(f.size),
		    'Upload-Metadata': meta.join(',') }, null, null, job);
		url = new URL(x.getResponseHeader('Location'), location.href).pathname;
		localStorage.setItem(mem, JSON.stringify({ url, key: job.key, size: f.size }));
	}
	let tries = 0;
	while (offset < f.size) {
		const end = Math.min(offset + TUS_CHUNK, f.size);
		try {
			const x = await send('PATCH', url, { ...TUS, 'Upload-Offset': String(offset),
			    'Content-Type': 'application/offset+octet-stream' }, f.slice(offset, end),
			    (n) => progress(offset + n), job);
			offset = Number(x.getResponseHeader('Upload-Offset'));
			tries = 0;
			continue;
		} catch (e) {
			if (e.status === -1 || (e.status > 0 && e.status !== 409)) throw e;
		}
		for (;;) {
			if (++tries > 6) throw { status: 0, message: explain(0) };
			job.note(`Connection lost; resuming (try ${tries})…`);
			await pause(500 * 2 ** tries);
			try { offset = await tusOffset(url, job); break; } catch (e) {
				if (e.status !== 0) throw e;
			}
		}
	}
	localStorage.removeItem(mem);
}

// The uploads a page reload (or a closed tab) left unfinished: each
// says how far it got, resumes when its file is chosen again, and can
// be discarded (DELETE, tus termination).
function unfinished(list) {
	for (let i = 0; i < localStorage.length; i++) {
		const mem = localStorage.key(i);
		const u = mem.startsWith(MEM) && remembered(mem);
		if (!u || !u.url) continue;
		const status = h('span', { class: 'status', text: `Unfinished: choose ${u.key.slice(u.key.lastIndexOf('/') + 1)} again to resume.` });
		const bar = h('progress', { max: Math.max(u.size, 1), value: 0, 'aria-label': `Unfinished upload of ${u.key}` });
		const li = h('li', { class: 'upload unfinished', 'data-mem': mem }, h('span', { class: 'name', text: u.key }), bar, status,
		    h('button', { type: 'button', class: 'small', 'aria-label': `Discard upload of ${u.key}`, on: { click: () => {
		        fetch(u.url, { method: 'DELETE', headers: { ...HEADERS, ...TUS } }).catch(() => {});
		        localStorage.removeItem(mem);
		        li.remove();
		        list.dispatchEvent(new Event('change'));
		    } } }, 'Discard'));
		list.append(li);
		fetch(u.url, { method: 'HEAD', headers: { ...HEADERS, ...TUS }, cache: 'no-store' }).then((r) => {
			if (r.status === 404 || r.status === 410) {
				localStorage.removeItem(mem);
				li.remove();
				list.dispatchEvent(new Event('change'));
			} else if (r.ok) {
				bar.value = Number(r.headers.get('Upload-Offset')) || 0;
				status.textContent = `Unfinished: ${fmtSize(bar.value)} of ${fmtSize(u.size)}; choose the file again to resume.`;
			}
		}).catch(() => {});
	}
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
	list.addEventListener('change', () => { panel.hidden = !list.children.length; });
	unfinished(list);
	panel.hidden = !list.children.length;

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
			list.querySelector(`li.unfinished[data-mem="${CSS.escape(fingerprint(job.key, file))}"]`)?.remove();
			list.append(job.li);
			queue.push(job);
		}
		pump();
	}
	return { panel, addFiles };
}
