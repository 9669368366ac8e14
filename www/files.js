// files: folders, breadcrumbs over "/" in keys, the list with "load
// more", a prefix filter, uploads (picker and drag and drop), the viewer
// and the actions of one file.
import { h, fmtSize, fmtDate, toast, keepFocus } from './dom.js';
import { get, post, patch, del, fileUrl, keyPath } from './api.js';
import { openDialog, confirmDialog, promptDialog } from './dialog.js';
import { openViewer, isImage } from './viewer.js';
import { uploadPanel } from './upload.js';

// Rows per list request (the API's maximum): fewer round trips. The
// tests lower it (localStorage "filestor.pageSize") to reach "load more".
const PAGE = Number(localStorage.getItem('filestor.pageSize')) || 1000;

export async function loadFolders() {
	const out = [];
	let cursor = '';
	do {
		const q = new URLSearchParams({ limit: '1000' });
		if (cursor) q.set('cursor', cursor);
		const p = await get(`/api/folders?${q}`);
		out.push(...p.items);
		cursor = p.nextCursor;
	} while (cursor && out.length < 10000);
	return out;
}

const hrefFor = (prefix, folder) => {
	const q = new URLSearchParams();
	if (prefix) q.set('prefix', prefix);
	if (folder) q.set('folder', folder);
	const s = q.toString();
	return `#/files${s ? `?${s}` : ''}`;
};

function breadcrumbs(prefix, folder) {
	const parts = prefix.split('/').filter(Boolean);
	const ol = h('ol', {}, h('li', {}, h('a', { href: hrefFor('', folder && folder.id) }, folder ? folder.name : 'All files')));
	let acc = '';
	parts.forEach((p, i) => {
		acc += `${p}/`;
		ol.append(h('li', {}, i === parts.length - 1 ?
		    h('span', { 'aria-current': 'page', text: p }) : h('a', { href: hrefFor(acc, folder && folder.id), text: p })));
	});
	return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, ol);
}

export function filesScreen(main, params) {
	const prefix = params.get('prefix') || '';
	const folderId = params.get('folder') || '';
	let folders = [];
	let cursor = '';
	let gen = 0;
	const dirs = new Set();

	const folderNav = h('nav', { class: 'folders', 'aria-label': 'Folders' });
	const crumbHolder = h('div');
	const filter = h('input', { id: 'filter', type: 'search', placeholder: 'Name starts with…', autocomplete: 'off' });
	const picker = h('input', { id: 'picker', type: 'file', multiple: true, class: 'visually-hidden' });
	// A table by ARIA roles on a grid of divs rather than <table>: each
	// row skips layout and paint while off screen (content-visibility),
	// which a table row cannot, so a thousand rows show at once.
	const th = (cls, t, hidden) => h('div', { role: 'columnheader', class: cls },
	    hidden ? h('span', { class: 'visually-hidden', text: t }) : t);
	const tbody = h('div', { role: 'rowgroup', class: 'rows' });
	const table = h('div', { role: 'table', class: 'files', 'aria-label': 'Files' },
	    h('div', { role: 'rowgroup' }, h('div', { role: 'row', class: 'tr head' },
	        th('', 'Preview', true), th('', 'Name'), th('num opt2', 'Size'), th('opt', 'Type'),
	        th('opt', 'Modified'), th('', 'Access'), th('', 'Actions', true))),
	    tbody);
	const state = h('p', { class: 'state', role: 'status' });
	const more = h('button', { type: 'button', class: 'more', hidden: true, on: { click: () => load(false) } }, 'Load more');
	const up = uploadPanel(() => refresh());

	const drop = h('section', { class: 'listing', 'aria-label': 'File list' },
	    h('div', { class: 'toolbar' }, crumbHolder,
	        h('div', { class: 'row' },
	            h('label', { for: 'filter', class: 'visually-hidden', text: 'Filter by name prefix' }), filter,
	            h('label', { for: 'picker', class: 'button primary', tabindex: '0', role: 'button',
	                on: { keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picker.click(); } } } }, 'Upload files'),
	            picker)),
	    h('p', { class: 'hint muted', text: 'Drop files anywhere here to upload them.' }),
	    up.panel, table, state, more);
	main.replaceChildren(h('div', { class: 'files-layout' },
	    h('aside', {}, h('h2', { text: 'Folders' }), folderNav,
	        h('button', { type: 'button', class: 'small', on: { click: newFolder } }, 'New folder')),
	    drop));

	picker.addEventListener('change', () => { up.addFiles([...picker.files], prefix, folderId); picker.value = ''; });
	drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('dragging'); });
	drop.addEventListener('dragleave', (e) => { if (e.target === drop) drop.classList.remove('dragging'); });
	drop.addEventListener('drop', (e) => {
		e.preventDefault();
		drop.classList.remove('dragging');
		const fs = [...(e.dataTransfer.files || [])];
		if (fs.length) up.addFiles(fs, prefix, folderId);
	});
	let timer;
	filter.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });

	function renderFolders() {
		const cur = folders.find((f) => f.id === folderId);
		crumbHolder.replaceChildren(breadcrumbs(prefix, cur));
		const item = (id, name) => h('li', {}, h('a', { href: hrefFor('', id),
		    'aria-current': id === folderId ? 'page' : undefined, text: name }),
		    id ? h('span', { class: 'folder-actions' },
		        h('button', { type: 'button', class: 'small link', 'aria-label': `Rename folder ${name}`, on: { click: () => renameFolder(id, name) } }, 'Rename'),
		        h('button', { type: 'button', class: 'small link', 'aria-label': `Delete folder ${name}`, on: { click: () => deleteFolder(id, name) } }, 'Delete')) : null);
		folderNav.replaceChildren(h('ul', {}, item('', 'All files'), folders.map((f) => item(f.id, f.name))));
	}

	async function newFolder() {
		const name = await promptDialog('New folder', 'Folder name', '', 'Create');
		if (!name) return;
		try { await post('/api/folders', { name }); toast(`Folder “${name}” created.`); await refreshFolders(); } catch (e) { toast(e.message, 'error'); }
	}
	async function renameFolder(id, old) {
		const name = await promptDialog('Rename folder', 'New name', old, 'Rename');
		if (!name || name === old) return;
		try { await patch(`/api/folders/${id}`, { name }); await refreshFolders(); } catch (e) { toast(e.message, 'error'); }
	}
	async function deleteFolder(id, name) {
		if (!await confirmDialog('Delete folder', `Delete the folder “${name}”? It must be empty: move or delete its files first.`, 'Delete folder')) return;
		try {
			await del(`/api/folders/${id}`);
			if (id === folderId) location.hash = hrefFor(prefix, '');
			await refreshFolders();
		} catch (e) { toast(e.status === 409 ? `The folder “${name}” is not empty.` : e.message, 'error'); }
	}
	async function refreshFolders() {
		try { folders = await loadFolders(); } catch (e) { toast(`Folders: ${e.message}`, 'error'); }
		renderFolders();
	}

	function fileRow(f) {
		const rest = f.key.slice(prefix.length);
		const cell = (cls, t) => h('div', { role: 'cell', class: cls, text: t });
		const td = (cls, ...kids) => h('div', { role: 'cell', class: cls }, kids);
		const thumb = isImage(f.contentType) ?
		    h('img', { class: 'thumb', loading: 'lazy', alt: '', width: 40, height: 40, decoding: 'async',
		        src: fileUrl(f.key, { width: 80, height: 80, fit: 'cover', format: 'webp' }) }) :
		    h('span', { class: 'thumb ph', 'aria-hidden': 'true', text: (f.contentType.split('/')[1] || '?').slice(0, 4) });
		return h('div', { role: 'row', class: 'tr', 'data-key': f.key },
		    td('', thumb),
		    td('name', h('button', { type: 'button', class: 'link', on: { click: () => openViewer(f) } }, rest)),
		    cell('num opt2', fmtSize(f.size)), cell('opt', f.contentType), cell('opt', fmtDate(f.updatedAt)),
		    td('', h('span', { class: `badge ${f.acl}`, text: f.acl === 'public' ? 'Public' : 'Private' })),
		    td('', h('button', { type: 'button', class: 'small', 'aria-label': `Actions for ${rest}`,
		        on: { click: () => actions(f) } }, 'Actions')));
	}

	function dirRow(d) {
		return h('div', { role: 'row', class: 'tr dir' },
		    h('div', { role: 'cell' }, h('span', { class: 'thumb ph', 'aria-hidden': 'true', text: 'dir' })),
		    h('div', { role: 'cell', class: 'name wide' }, h('a', { href: hrefFor(prefix + d + '/', folderId), text: `${d}/` })));
	}

	// One page, or a few when a page shows next to nothing (its keys all
	// fell into directories already listed, or into other folders).
	async function load(first) {
		const my = ++gen;
		if (first) { cursor = ''; dirs.clear(); }
		state.className = 'state';
		state.textContent = 'Loading…';
		more.hidden = true;
		const rows = [];
		for (let pages = 0; pages < 5 && (pages === 0 || (cursor && rows.length < 20)); pages++) {
			const q = new URLSearchParams({ prefix: prefix + filter.value, limit: String(PAGE) });
			if (cursor) q.set('cursor', cursor);
			let page;
			try {
				page = await get(`/api/storage?${q}`);
			} catch (e) {
				if (my !== gen) return;
				state.className = 'state error';
				state.textContent = `Cannot list files: ${e.message}`;
				more.hidden = !cursor;
				return;
			}
			if (my !== gen) return;
			performance.mark('files:page');
			if (first && pages === 0) tbody.replaceChildren();
			for (const f of page.items) {
				const rest = f.key.slice(prefix.length);
				const slash = rest.indexOf('/');
				if (slash >= 0) {
					const d = rest.slice(0, slash);
					if (!dirs.has(d)) { dirs.add(d); rows.push(dirRow(d)); }
				} else if (!folderId || f.folderId === folderId) {
					rows.push(fileRow(f));
				}
			}
			cursor = page.nextCursor || '';
		}
		keepFocus(() => tbody.append(...rows));
		more.hidden = !cursor;
		state.textContent = tbody.children.length ? '' :
		    (cursor ? 'Nothing here yet; load more.' : (filter.value ? 'No file starts with that.' : 'No files here yet. Upload some.'));
		table.hidden = !tbody.children.length;
		main.dispatchEvent(new CustomEvent('files-loaded', { bubbles: true }));
	}
	function refresh() { return load(true); }

	async function actions(f) {
		const name = f.key.slice(prefix.length);
		const ttl = h('select', { id: 'ttl' },
		    [['60', '1 minute'], ['900', '15 minutes'], ['3600', '1 hour'], ['21600', '6 hours'], ['86400', '24 hours']]
		        .map(([v, t]) => h('option', { value: v, text: t, selected: v === '3600' })));
		const linkOut = h('input', { id: 'signed-url', type: 'text', readOnly: true, placeholder: 'No link yet' });
		const moveSel = h('select', { id: 'move-to' }, h('option', { value: '', text: '(no folder)' }),
		    folders.map((x) => h('option', { value: x.id, text: x.name, selected: x.id === f.folderId })));
		const d = openDialog({
			title: `Actions: ${name}`,
			body: [
				h('section', { 'aria-labelledby': 'sign-h' }, h('h3', { id: 'sign-h', text: 'Signed link' }),
				    h('div', { class: 'row' }, h('label', { for: 'ttl', text: 'Valid for' }), ttl,
				        h('button', { type: 'button', class: 'primary', on: { click: sign } }, 'Copy signed link')),
				    h('label', { for: 'signed-url', class: 'visually-hidden', text: 'Signed link' }), linkOut),
				h('section', { 'aria-labelledby': 'acl-h' }, h('h3', { id: 'acl-h', text: 'Access' }),
				    h('p', { text: f.acl === 'public' ? 'Public: anyone with the address may read it.' : 'Private: only signed-in users with access, or a signed link.' }),
				    h('button', { type: 'button', on: { click: () => setAcl(f.acl === 'public' ? 'private' : 'public') } },
				        f.acl === 'public' ? 'Make private' : 'Make public')),
				h('section', { 'aria-labelledby': 'move-h' }, h('h3', { id: 'move-h', text: 'Folder' }),
				    h('div', { class: 'row' }, h('label', { for: 'move-to', text: 'Move to' }), moveSel,
				        h('button', { type: 'button', on: { click: move } }, 'Move'))),
				h('section', { 'aria-labelledby': 'del-h' }, h('h3', { id: 'del-h', text: 'Delete' }),
				    h('button', { type: 'button', class: 'danger', on: { click: remove } }, 'Delete file')),
			],
			actions: [h('a', { class: 'button', href: fileUrl(f.key), download: name.slice(name.lastIndexOf('/') + 1) }, 'Download')],
		});
		async function sign() {
			try {
				const r = await post(`/api/storage/${keyPath(f.key)}/sign`, { ttlSeconds: Number(ttl.value) });
				linkOut.value = new URL(r.url, location.origin).href;
				linkOut.select();
				try { await navigator.clipboard.writeText(linkOut.value); toast('Signed link copied.'); }
				catch { toast('Signed link ready: copy it from the box.'); }
			} catch (e) { toast(e.message, 'error'); }
		}
		async function setAcl(acl) {
			try { await patch(`/api/storage/${keyPath(f.key)}`, { acl }); toast(`Now ${acl}.`); d.close(); refresh(); } catch (e) { toast(e.message, 'error'); }
		}
		async function move() {
			try { await patch(`/api/storage/${keyPath(f.key)}`, { folderId: moveSel.value || null }); toast('Moved.'); d.close(); refresh(); } catch (e) { toast(e.message, 'error'); }
		}
		async function remove() {
			if (!await confirmDialog('Delete file', `Delete “${f.key}” for good?`, 'Delete')) return;
			try { await del(`/api/storage/${keyPath(f.key)}`); toast('Deleted.'); d.close(); refresh(); } catch (e) { toast(e.message, 'error'); }
		}
	}

	refreshFolders();
	refresh();
}
