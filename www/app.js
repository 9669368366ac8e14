// app: the shell. Who is signed in, the header and its navigation, and
// the screens by URL fragment: #/files?prefix=..&folder=.., #/agents,
// #/account. Signed out, the sign-in screen.
import { h, $ } from './dom.js';
import { get, post } from './api.js';
import { signIn } from './signin.js';
import { filesScreen } from './files.js';
import { agentsScreen } from './agents.js';
import { accountScreen } from './account.js';

let me = null;

const SCREENS = {
	files: { title: 'Files', render: filesScreen },
	agents: { title: 'Agents', render: agentsScreen, admin: true },
	account: { title: 'Account', render: accountScreen },
};

function route() {
	const m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(location.hash);
	const name = m && SCREENS[m[1]] ? m[1] : 'files';
	return { name, params: new URLSearchParams(m ? m[2] || '' : '') };
}

function header(active) {
	const link = (name, text) => h('a', { href: `#/${name}`,
	    'aria-current': active === name ? 'page' : undefined }, text);
	return h('header', { class: 'top' },
	    h('a', { class: 'brand', href: '#/files' }, 'Filestor'),
	    h('nav', { 'aria-label': 'Main' },
	        link('files', 'Files'),
	        me.role.admin ? link('agents', 'Storage → Agents') : null,
	        link('account', 'Account')),
	    h('span', { class: 'who', title: me.tenant.name, text: `${me.user.email} · ${me.tenant.name}` }),
	    h('button', { type: 'button', class: 'link', on: { click: signOut } }, 'Sign out'));
}

async function signOut() {
	try { await post('/api/auth/logout'); } catch { /* signed out anyway */ }
	me = null;
	showSignIn();
}

function showSignIn() {
	const app = $('#app');
	app.replaceChildren();
	document.title = 'Sign in · Filestor';
	signIn(app, (who) => { me = who; render(); });
}

export function render() {
	if (!me) return showSignIn();
	const r = route();
	const s = SCREENS[r.name];
	const main = h('main', { id: 'main', tabindex: '-1' });
	$('#app').replaceChildren(header(r.name), main);
	document.title = `${s.title} · Filestor`;
	if (s.admin && !me.role.admin) {
		main.append(h('p', { class: 'state error', text: 'This page is for administrators.' }));
		return;
	}
	s.render(main, r.params, me);
}

window.addEventListener('hashchange', () => render());
window.addEventListener('filestor:signed-out', () => { if (me) { me = null; showSignIn(); } });

async function start() {
	try {
		me = await get('/api/auth/me', { noAuthEvent: true });
	} catch {
		me = null;
	}
	render();
}
start();
