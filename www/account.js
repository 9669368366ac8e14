// account: who you are, and API keys: list, create (shown once), revoke.
// An admin sees every key of the tenant.
import { h, fmtDate, toast, tableWrap } from './dom.js';
import { get, post, del } from './api.js';
import { openDialog, confirmDialog } from './dialog.js';
import { secretBox } from './secret.js';

export function accountScreen(main, params, me) {
	const tbody = h('tbody');
	const state = h('p', { class: 'state', role: 'status', text: 'Loading…' });
	const name = h('input', { id: 'key-name', type: 'text', placeholder: 'laptop backup', maxLength: 100 });
	main.replaceChildren(
	    h('h1', { text: 'Account' }),
	    h('p', { text: `${me.user.email} · tenant ${me.tenant.name} · role ${me.role.name}` }),
	    h('section', { 'aria-labelledby': 'keys-h' },
	        h('h2', { id: 'keys-h', text: me.role.admin ? 'API keys of the tenant' : 'Your API keys' }),
	        h('form', { class: 'row', on: { submit: create } },
	            h('label', { for: 'key-name', text: 'New key name' }), name,
	            h('button', { type: 'submit', class: 'primary' }, 'Create key')),
	        tableWrap('API keys', h('table', { class: 'keys' }, h('caption', { class: 'visually-hidden', text: 'API keys' }),
	            h('thead', {}, h('tr', {}, ['Name', 'User', 'Created', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
	            tbody)),
	        state));

	async function refresh() {
		try {
			const items = (await get('/api/auth/keys')).items;
			tbody.replaceChildren(...items.map((k) => h('tr', {},
			    h('td', { text: k.name || '(unnamed)' }), h('td', { text: k.email || k.userId }), h('td', { text: fmtDate(k.createdAt) }),
			    h('td', {}, h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke key ${k.name || k.id}`,
			        on: { click: () => revoke(k) } }, 'Revoke')))));
			state.className = 'state';
			state.textContent = items.length ? '' : 'No API keys.';
		} catch (e) {
			state.className = 'state error';
			state.textContent = `Cannot list keys: ${e.message}`;
		}
	}
	async function create(ev) {
		ev.preventDefault();
		try {
			const body = name.value.trim() ? { name: name.value.trim() } : {};
			const k = await post('/api/auth/keys', body);
			name.value = '';
			openDialog({ title: 'New API key', body: [secretBox('API key', k.key),
			    h('p', { class: 'muted', text: 'Send it as "Authorization: Bearer <key>".' })], onClose: refresh });
		} catch (e) { toast(e.message, 'error'); }
	}
	async function revoke(k) {
		if (!await confirmDialog('Revoke key', `Revoke the key “${k.name || k.id}”? Programs that use it stop working at once.`, 'Revoke')) return;
		try { await del(`/api/auth/keys/${k.id}`); toast('Key revoked.'); refresh(); } catch (e) { toast(e.message, 'error'); }
	}
	refresh();
}
