// tests/web/firefox.mjs: the web app in Debian's firefox-esr, headless,
// over WebDriver BiDi (playwright-core drives only its own patched
// Firefox builds, which are downloads; BiDi is what stock Firefox speaks).
// Signs in, loads the file list and the other screens at 360 px wide,
// checks there is no horizontal scroll and no console error. Run by
// tests/t18-webapp.sh after app.mjs (which leaves files to list); prints
// one "PASS name" or "FAIL name: why" line per check. Needs node's
// WebSocket (node 22, or node 20 with --experimental-websocket).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reporter } from './report.mjs';

const env = process.env;
const BASE = env.BASE;
const T = 20000;

const { pass, fail, check, step } = reporter('firefox: ');

// A fresh profile that reaches nothing but this machine: automation's
// quiet defaults, no updates, telemetry, safe browsing, remote settings,
// captive-portal or connectivity checks, prefetch or DNS over HTTPS, and
// every other host behind a proxy on a closed loopback port.
const PREFS = {
	'remote.prefs.recommended': true,
	'browser.shell.checkDefaultBrowser': false,
	'browser.startup.homepage_override.mstone': 'ignore',
	'browser.aboutwelcome.enabled': false,
	'browser.newtabpage.enabled': false,
	'datareporting.policy.dataSubmissionEnabled': false,
	'datareporting.healthreport.uploadEnabled': false,
	'toolkit.telemetry.enabled': false,
	'toolkit.telemetry.unified': false,
	'app.update.disabledForTesting': true,
	'app.update.auto': false,
	'app.normandy.enabled': false,
	'app.shield.optoutstudies.enabled': false,
	'browser.safebrowsing.malware.enabled': false,
	'browser.safebrowsing.phishing.enabled': false,
	'browser.safebrowsing.downloads.enabled': false,
	'browser.safebrowsing.blockedURIs.enabled': false,
	'browser.safebrowsing.update.enabled': false,
	'extensions.update.enabled': false,
	'extensions.getAddons.cache.enabled': false,
	'extensions.blocklist.enabled': false,
	'browser.search.update': false,
	'services.settings.server': 'http://127.0.0.1:9/v1',
	'network.captive-portal-service.enabled': false,
	'network.connectivity-service.enabled': false,
	'network.dns.disablePrefetch': true,
	'network.prefetch-next': false,
	'network.http.speculative-parallel-limit': 0,
	'network.trr.mode': 5,
	'dom.push.connection.enabled': false,
	'geo.provider.network.url': '',
	'network.proxy.type': 1,
	'network.proxy.http': '127.0.0.1',
	'network.proxy.http_port': 9,
	'network.proxy.ssl': '127.0.0.1',
	'network.proxy.ssl_port': 9,
	'network.proxy.no_proxies_on': '127.0.0.1,localhost',
	'network.proxy.allow_hijacking_localhost': false,
};

// A minimal WebDriver BiDi client: commands by id, events to listeners.
class Bidi {
	constructor(url) {
		this.ws = new WebSocket(url);
		this.seq = 0;
		this.pending = new Map();
		this.listeners = [];
		this.ws.onmessage = (m) => {
			const d = JSON.parse(m.data);
			const p = d.id !== undefined && this.pending.get(d.id);
			if (p) {
				this.pending.delete(d.id);
				clearTimeout(p.to);
				if (d.type === 'error') p.reject(new Error(`${p.method}: ${d.error}: ${d.message}`));
				else p.resolve(d.result);
			} else if (d.type === 'event') {
				for (const l of this.listeners) l(d);
			}
		};
	}
	open() {
		return new Promise((resolve, reject) => {
			this.ws.onopen = resolve;
			this.ws.onerror = () => reject(new Error('cannot connect to WebDriver BiDi'));
		});
	}
	send(method, params = {}) {
		const id = ++this.seq;
		return new Promise((resolve, reject) => {
			const to = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method}: no answer`)); }, T);
			this.pending.set(id, { resolve, reject, method, to });
			this.ws.send(JSON.stringify({ id, method, params }));
		});
	}
}

// Firefox, started on a port it chooses; resolves with the BiDi URL.
function startFirefox(profile) {
	const ff = spawn('/usr/bin/firefox-esr', ['--headless', '--no-remote', '--profile', profile,
	    '--remote-debugging-port', '0', 'about:blank'],
	    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: '1' } });
	const url = new Promise((resolve, reject) => {
		let err = '';
		const to = setTimeout(() => reject(new Error(`no BiDi port within 60 s: ${err.slice(-300)}`)), 60000);
		ff.stderr.on('data', (d) => {
			err += d;
			const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(err);
			if (m) { clearTimeout(to); resolve(m[1]); }
		});
		ff.on('exit', (c) => { clearTimeout(to); reject(new Error(`firefox exited ${c}: ${err.slice(-300)}`)); });
	});
	return { ff, url };
}

if (typeof WebSocket !== 'function') {
	fail('node has a WebSocket client', 'node 22, or node 20 with --experimental-websocket');
	process.exit(0);
}
const profile = mkdtempSync(join(env.WORK || '/tmp', 'firefox-'));
writeFileSync(join(profile, 'user.js'),
    Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
const { ff, url } = startFirefox(profile);
let stopping = false;
function stop() {
	if (stopping) return;
	stopping = true;
	ff.kill('SIGTERM');
	setTimeout(() => ff.kill('SIGKILL'), 5000).unref();
}
// Ctrl-C and TERM: exit 130 or 143, which tests/t18-webapp.sh stops on.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(sig, () => { stop(); process.exit(code); });

const errors = [];
let b;
let ctx;
// The value of EXPR in the page (awaited).
async function js(expr) {
	const r = await b.send('script.evaluate', { expression: expr, target: { context: ctx }, awaitPromise: true });
	if (r.type === 'exception') throw new Error(`${expr.slice(0, 60)}: ${r.exceptionDetails.text}`);
	return r.result.value;
}
async function waitFor(expr, what) {
	const end = Date.now() + T;
	while (Date.now() < end) {
		if (await js(`!!(${expr})`).catch(() => false)) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`timed out waiting for ${what}`);
}
async function shot(name) {
	const r = await b.send('browsingContext.captureScreenshot', { context: ctx, origin: 'document' });
	writeFileSync(join(env.SHOTS, `${name}.png`), Buffer.from(r.data, 'base64'));
}
const noScroll = () => js('document.documentElement.scrollWidth');

try {
	b = new Bidi(`${await url}/session`);
	await b.open();
	await b.send('session.new', { capabilities: {} });
	pass('a WebDriver BiDi session');
	await b.send('session.subscribe', { events: ['log.entryAdded'] });
	b.listeners.push((d) => {
		if (d.method === 'log.entryAdded' && d.params.level === 'error')
			errors.push(`${d.params.text} ${d.params.source?.realm || ''}`);
	});
	ctx = (await b.send('browsingContext.getTree', {})).contexts[0].context;
	await b.send('browsingContext.setViewport', { context: ctx, viewport: { width: 360, height: 740 } });
	await b.send('browsingContext.navigate', { context: ctx, url: `${BASE}/`, wait: 'complete' });
	const S = JSON.stringify;
	await step('sign-in form', () => waitFor("document.querySelector('#email')", 'the sign-in form'));
	const submit = "document.querySelector('form button[type=submit]').click()";
	const set = (sel, v) => `(() => { const e = document.querySelector(${S(sel)}); e.value = ${S(v)}; e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); })()`;
	await js(set('#email', env.EMAIL));
	await js(set('#password', env.PASSWORD));
	await js(submit);
	await step('several tenants offer a choice', () => waitFor("document.querySelector('#tenant')?.offsetParent", 'the tenant choice'));
	await js(set('#tenant', env.TENANT));
	await js(submit);
	await step('signed in', () => waitFor("document.querySelector('header.top nav')", 'the app'));
	await step('the file list loads', () => waitFor("document.querySelectorAll('div.files .rows [role=row]').length > 0", 'rows'));
	await step('a thumbnail loads', () => waitFor("[...document.querySelectorAll('img.thumb')].some((i) => i.complete && i.naturalWidth > 0)", 'a thumbnail'));
	check('no horizontal scroll at 360 px on files', await noScroll() <= 360, await noScroll());
	await shot('20-firefox-files-360');
	for (const [hash, sel, name] of [['#/agents', 'tr[data-agent]', 'agents'], ['#/account', '#key-name', 'account']]) {
		await js(`location.hash = ${S(hash)}`);
		await step(`${name} loads`, () => waitFor(`document.querySelector(${S(sel)})`, name));
		check(`no horizontal scroll at 360 px on ${name}`, await noScroll() <= 360, await noScroll());
		await shot(`21-firefox-${name}-360`);
	}
} catch (e) {
	fail('the scenario ran to its end', e.message || e);
}
check('no console errors', !errors.length, errors.join(' | '));
try { await b.send('session.end'); } catch { /* gone */ }
stop();
await new Promise((r) => { if (ff.exitCode !== null || ff.signalCode) r(); else ff.on('exit', r); });
rmSync(profile, { recursive: true, force: true });
process.exit(0);
