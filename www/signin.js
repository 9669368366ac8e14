// signin: email and password, then a tenant choice when the account
// belongs to several (the login answers 422 with the list).
import { h } from './dom.js';
import { post } from './api.js';

export function signIn(root, done) {
	const msg = h('p', { id: 'signin-msg', class: 'error', role: 'alert' });
	const email = h('input', { id: 'email', type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true });
	const pw = h('input', { id: 'password', type: 'password', name: 'password', autocomplete: 'current-password', required: true });
	const tenant = h('select', { id: 'tenant', name: 'tenant' });
	const tenantRow = h('div', { class: 'field', hidden: true },
	    h('label', { for: 'tenant', text: 'Tenant' }), tenant);
	const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
	const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title', on: { submit } },
	    h('h1', { id: 'signin-title', text: 'Sign in to Filestor' }),
	    h('div', { class: 'field' }, h('label', { for: 'email', text: 'Email' }), email),
	    h('div', { class: 'field' }, h('label', { for: 'password', text: 'Password' }), pw),
	    tenantRow, msg, btn);
	email.addEventListener('input', () => { tenantRow.hidden = true; tenant.replaceChildren(); });

	async function submit(ev) {
		ev.preventDefault();
		msg.textContent = '';
		btn.disabled = true;
		const body = { email: email.value.trim(), password: pw.value };
		if (!tenantRow.hidden && tenant.value) body.tenantId = tenant.value;
		try {
			const who = await post('/api/auth/login', body, { noAuthEvent: true });
			done(who);
		} catch (e) {
			const tenants = e.body && e.body.error && e.body.error.tenants;
			if (e.status === 422 && Array.isArray(tenants)) {
				tenant.replaceChildren(...tenants.map((t) => h('option', { value: t.id, text: t.name })));
				tenantRow.hidden = false;
				msg.textContent = 'This account belongs to several tenants: choose one.';
				tenant.focus();
			} else if (e.status === 401) {
				msg.textContent = 'Wrong email or password.';
				pw.select();
			} else if (e.status === 429) {
				msg.textContent = `Too many failed sign-ins. ${e.message}`;
			} else {
				msg.textContent = `Cannot sign in: ${e.message}`;
			}
		} finally {
			btn.disabled = false;
		}
	}
	const main = h('main', { id: 'main', class: 'center' }, form);
	root.replaceChildren(main);
	email.focus();
}
