// api: every call to Filestor's API. Cookie session, and the CSRF header
// on every request (the server wants it on state changes).

export class ApiError extends Error {
	constructor(status, code, message, body) {
		super(message);
		this.status = status;
		this.code = code;
		this.body = body;
	}
}

// Each segment of a key, percent-encoded; '/' stays the separator.
export const keyPath = (key) => key.split('/').map(encodeURIComponent).join('/');
export const fileUrl = (key, q) => `/api/storage/${keyPath(key)}${q ? `?${new URLSearchParams(q)}` : ''}`;

export const HEADERS = { 'X-Requested-With': 'filestor-web' };

// The JSON error of a failed response, as an ApiError.
export async function errorOf(res) {
	let body = null;
	try { body = await res.json(); } catch { /* not JSON */ }
	const e = body && body.error;
	const msg = e && e.message ? e.message : `${res.status} ${res.statusText || 'error'}`;
	return new ApiError(res.status, e ? e.code : 'HTTP', msg, body);
}

export async function api(method, path, opts = {}) {
	const headers = { ...HEADERS, ...(opts.headers || {}) };
	let body = opts.body;
	if (opts.json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(opts.json);
	}
	let res;
	try {
		res = await fetch(path, { method, headers, body, credentials: 'same-origin',
		    signal: opts.signal, cache: 'no-store' });
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection.');
	}
	if (!res.ok) {
		const err = await errorOf(res);
		if (res.status === 401 && !opts.noAuthEvent)
			window.dispatchEvent(new CustomEvent('filestor:signed-out'));
		throw err;
	}
	if (res.status === 204 || opts.raw) return opts.raw ? res : null;
	const ct = res.headers.get('Content-Type') || '';
	return ct.includes('json') ? res.json() : res.text();
}

export const get = (p, o) => api('GET', p, o);
export const post = (p, json, o = {}) => api('POST', p, { ...o, json });
export const patch = (p, json, o = {}) => api('PATCH', p, { ...o, json });
export const del = (p, o) => api('DELETE', p, o);
