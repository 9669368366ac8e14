// agents: Storage → Agents (admins). The list, "Add agent" (an
// enrollment token and the exact command), the Tunnel dialog (enable,
// rotate, disable; the key shown once) and a browser of an agent's files.
import { h, fmtDate, fmtSize, toast, keepFocus, tableWrap } from './dom.js';
import { get, post, del } from './api.js';
import { openDialog, confirmDialog } from './dialog.js';
import { secretBox } from './secret.js';

const q = (s) => (/^[A-Za-z0-9_.,/:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function agentsScreen(main) {
	const tbody = h('tbody');
	const state = h('p', { class: 'state', role: 'status', text: 'Loading…' });
	const table = h('table', { class: 'agents', hidden: true },
	    h('caption', { class: 'visually-hidden', text: 'Agents' }),
	    h('thead', {}, h('tr', {}, ['Name', 'Status', 'Last seen', 'Tunnel', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
	    tbody);
	main.replaceChildren(h('section', { 'aria-labelledby': 'agents-h' },
	    h('div', { class: 'row' }, h('h1', { id: 'agents-h', text: 'Storage → Agents' }),
	        h('button', { type: 'button', class: 'primary', on: { click: addAgent } }, 'Add agent')),
	    tableWrap('Agents', table), state));

	async function refresh() {
		let list;
		try { list = (await get('/api/agents')).items; } catch (e) {
			state.className = 'state error';
			state.textContent = `Cannot list agents: ${e.message}`;
			return;
		}
		keepFocus(() => tbody.replaceChildren(...list.map(row)));
		table.hidden = !list.length;
		state.className = 'state';
		state.textContent = list.length ? '' : 'No agents yet. Add one to serve files from your own hosts.';
		main.dispatchEvent(new CustomEvent('agents-loaded', { bubbles: true }));
	}

	function row(a) {
		const online = typeof a.online === 'boolean' ?
		    h('span', { class: `badge ${a.online ? 'online' : 'offline'}`, text: a.online ? 'Online' : 'Offline' }) :
		    h('span', { class: 'muted', text: 'Unknown' });
		const t = a.tunnel || {};
		return h('tr', { 'data-agent': a.id },
		    h('td', { text: a.name }), h('td', {}, online), h('td', { text: fmtDate(a.lastSeenAt) }),
		    h('td', { class: 'tunnel', text: t.enabled ? `On · ${t.hostname}` : 'Off' }),
		    h('td', { class: 'actions' },
		        h('button', { type: 'button', class: 'small', 'aria-label': `Tunnel of ${a.name}`, on: { click: () => tunnelDialog(a) } }, 'Tunnel'),
		        h('button', { type: 'button', class: 'small', 'aria-label': `Browse files of ${a.name}`, on: { click: () => browse(a) } }, 'Browse')));
	}

	function addAgent() {
		const name = h('input', { id: 'agent-name', type: 'text', value: 'nas-1', required: true });
		const roots = h('input', { id: 'agent-roots', type: 'text', value: '/srv/share', required: true });
		const out = h('div');
		const form = h('form', { on: { submit: async (ev) => {
			ev.preventDefault();
			try {
				const r = await post('/api/agents/enroll-tokens', {});
				const cmd = `filestor-agent enroll --server ${q(location.origin)} --token ${r.token} --name ${q(name.value.trim())} --allowed-roots ${q(roots.value.trim())}`;
				out.replaceChildren(secretBox('Enrollment command', cmd, { multiline: true }),
				    h('p', { class: 'muted', text: `Run it on the file host before ${fmtDate(r.expiresAt)}; the token works once.` }));
				out.querySelector('.secret').focus();
			} catch (e) { toast(e.message, 'error'); }
		} } },
		    h('div', { class: 'field' }, h('label', { for: 'agent-name', text: 'Agent name' }), name),
		    h('div', { class: 'field' }, h('label', { for: 'agent-roots', text: 'Allowed roots (comma-separated)' }), roots),
		    h('button', { type: 'submit', class: 'primary' }, 'Make enrollment command'));
		openDialog({ title: 'Add agent', body: [form, out], onClose: refresh });
	}

	function tunnelDialog(a) {
		const body = h('div');
		const d = openDialog({ title: `Tunnel: ${a.name}`, body: [body], onClose: refresh });
		const t = a.tunnel || {};
		const showKey = (r, verb) => {
			body.replaceChildren(
			    h('p', { role: 'status', text: `${verb}: ${r.hostname || t.hostname}.` }),
			    secretBox('Signing key', r.signingKey),
			    secretBox('Command for the agent host', `filestor-agent configure-tunnel --hostname ${q(r.hostname || t.hostname)} --key -`, { warn: false }),
			    h('p', { class: 'muted', text: 'Run the command on the agent host, paste the key when it asks, then restart the agent.' }),
			    h('button', { type: 'button', class: 'primary', on: { click: () => d.close() } }, 'I have copied the key'));
			body.querySelector('.secret').focus();
		};
		if (!t.enabled) {
			const host = h('input', { id: 'tunnel-host', type: 'text', value: t.hostname || '', placeholder: 'agent-1.example.com', required: true });
			body.append(h('form', { on: { submit: async (ev) => {
				ev.preventDefault();
				try { showKey(await post(`/api/agents/${a.id}/tunnel`, { hostname: host.value.trim() }), 'Tunnel enabled'); } catch (e) { toast(e.message, 'error'); }
			} } },
			    h('p', { text: 'Downloads from this agent go straight to its Cloudflare Tunnel, signed with a key only the agent and Filestor know.' }),
			    h('div', { class: 'field' }, h('label', { for: 'tunnel-host', text: 'Tunnel hostname' }), host),
			    h('button', { type: 'submit', class: 'primary' }, 'Enable')));
			host.focus();
			return;
		}
		body.append(h('p', { text: `Enabled at ${t.hostname}.` }),
		    h('div', { class: 'row' },
		        h('button', { type: 'button', on: { click: async () => {
		            if (!await confirmDialog('Rotate key', 'Make a new signing key? Links signed with the old key stop working once the agent has the new one.', 'Rotate key', false)) return;
		            try { showKey(await post(`/api/agents/${a.id}/tunnel/rotate`), 'Key rotated'); } catch (e) { toast(e.message, 'error'); }
		        } } }, 'Rotate key'),
		        h('button', { type: 'button', class: 'danger', on: { click: async () => {
		            if (!await confirmDialog('Disable tunnel', 'Disable the tunnel? Downloads from this agent then fall back to the relay through Filestor (slower, but they keep working while the agent is online). The key is forgotten.', 'Disable tunnel')) return;
		            try { await del(`/api/agents/${a.id}/tunnel`); toast('Tunnel disabled.'); d.close(); } catch (e) { toast(e.message, 'error'); }
		        } } }, 'Disable')));
		body.querySelector('button').focus();
	}

	// The agent's allowed roots, then their directories, a page at a
	// time ("Load more"); Up goes back where the last directory was
	// entered from. Files download through /api/file/content (a 302 to
	// the agent's tunnel, or the bytes relayed).
	function browse(a) {
		const limit = Number(localStorage.getItem('filestor.agentPageSize')) || 100;
		const list = h('ul', { class: 'agent-files', 'aria-label': 'Files' });
		const where = h('p', { class: 'muted where' });
		const state2 = h('p', { class: 'state', role: 'status' });
		const up = h('button', { type: 'button', class: 'link up', hidden: true, on: { click: () => go(trail.pop() || '') } }, '↑ Up');
		const more = h('button', { type: 'button', class: 'more', hidden: true, on: { click: () => load(true) } }, 'Load more');
		const trail = [];
		let cur = '';
		let cursor = null;
		openDialog({ title: `Files on ${a.name}`, wide: true, body: [where, up, list, more, state2] });
		// A root's name is its absolute path; a directory's entries are
		// names inside it.
		const full = (it) => (cur ? `${cur.replace(/\/$/, '')}/${it.name}` : it.name);
		const entry = (it) => {
			const dir = it.type === 'dir';
			const p = full(it);
			return h('li', {}, dir ?
			    h('button', { type: 'button', class: 'link', on: { click: () => { trail.push(cur); go(p); } } }, cur ? `${it.name}/` : it.name) :
			    h('a', { href: `/api/file/content?${new URLSearchParams({ agent: a.id, path: p })}`, download: it.name }, it.name),
			    dir ? null : h('span', { class: 'muted', text: ` ${fmtSize(it.size)}` }));
		};
		async function load(append) {
			const q = new URLSearchParams({ limit });
			if (cur) q.set('path', cur);
			if (append && cursor) q.set('cursor', cursor);
			state2.className = 'state';
			state2.textContent = 'Loading…';
			more.hidden = true;
			let r;
			try { r = await get(`/api/agents/${a.id}/files?${q}`); } catch (e) {
				state2.className = 'state error';
				state2.textContent = e.status === 503 ? 'The agent is offline or not reachable right now.' :
				    e.status === 404 ? `Not found: ${e.message}` : `Cannot list: ${e.message}`;
				return;
			}
			const items = r.items || [];
			if (append) list.append(...items.map(entry)); else list.replaceChildren(...items.map(entry));
			cursor = r.nextCursor || null;
			more.hidden = !cursor;
			state2.textContent = list.children.length ? '' : 'Empty.';
		}
		function go(path) {
			cur = path;
			cursor = null;
			where.textContent = path || 'Allowed roots';
			up.hidden = !path;
			load(false).then(() => (list.querySelector('button, a') || up).focus());
		}
		go('');
	}
	refresh();
}
