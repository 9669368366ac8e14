// tests/web/app.mjs: the web app end to end in Debian's chromium, driven
// by playwright-core, with axe-core on every screen. Run by
// tests/t18-webapp.sh, which makes the users and reads the output: one
// "PASS name" or "FAIL name: why" line per check.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { reporter } from './report.mjs';

const env = process.env;
const require = createRequire(join(env.NODE_MODULES, '..', 'index.js'));
const { chromium } = require('playwright-core');
// Evaluated, not added as a <script>: the app's CSP forbids inline script.
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BASE = env.BASE;
const T = 15000;

const { pass, fail, check, step, note } = reporter();

const profile = mkdtempSync(join(env.WORK || '/tmp', 'chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	// Nothing but this machine: no name is resolved (no DNS query) but
	// the loopback address the tests use.
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update', '--disable-sync',
	    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--disable-domain-reliability'],
	viewport: { width: 1280, height: 800 },
	// Its temporary files (PulseAudio's runtime directory, once media
	// plays) in the profile, which is removed at the end.
	env: { ...env, TMPDIR: profile },
	// Ctrl-C and TERM: ours below, so that the exit status says so.
	handleSIGINT: false,
	handleSIGTERM: false,
});
// Closes the browser and exits 130 (INT) or 143 (TERM): tests/t18-webapp.sh
// stops on those rather than going on against a stopped server.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
	process.on(sig, () => {
		setTimeout(() => process.exit(code), 5000).unref();
		browser.close().catch(() => {}).finally(() => {
			rmSync(profile, { recursive: true, force: true });
			process.exit(code);
		});
	});
}

// Console errors, except the network line Chromium logs for an answer
// the app expects and handles: 401 from /api/auth/me (signed out) and
// /api/auth/login (the wrong-password step), 422 from the login (tenant
// choice), 404/503 from an agent's file listing (not on this server).
const consoleErrors = [];
const expected = (url, text) => /status of 401/.test(text) && /\/api\/auth\/(me|login)$/.test(url) ||
    /status of 422/.test(text) && /\/api\/storage\/bad%5Cname\.txt$/.test(url) ||
    /status of (404|405)/.test(text) && /\/api\/uploads$/.test(url) ||
    /status of 422/.test(text) && /\/api\/auth\/login$/.test(url) ||
    /status of (404|503)/.test(text) && /\/api\/agents\/[^/]+\/files/.test(url);
function watch(page, also = () => false) {
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		const url = (m.location() || {}).url || '';
		if (!expected(url, m.text()) && !also(url, m.text())) consoleErrors.push(`${m.text()} ${url}`);
	});
	page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
}

async function axe(page, screen) {
	if (!await page.evaluate(() => !!window.axe)) await page.evaluate(`${AXE}\n;0`);
	const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	check(`axe: no serious or critical violations on ${screen}`, !bad.length,
	    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`).join('; '));
}
const shot = (page, name) => page.screenshot({ path: join(env.SHOTS, `${name}.png`), fullPage: true });

const page = browser.pages()[0] || await browser.newPage();
watch(page);

// A TCP relay between the browser and the server, for the tus steps: it
// counts the bytes the browser sends, cuts every connection once at a
// byte count (and refuses new ones for 1.5 s, so that Chromium's own
// quiet retry of a request fails too and the app has to resume), or
// holds the connection that reaches a count until released (the others
// go on, so that the page can reload meanwhile).
function tcpRelay(target) {
	const st = { up: 0, cutAt: Infinity, cuts: 0, refuseUntil: 0, holdAt: Infinity, held: 0, pairs: new Set() };
	const drop = (p) => { p.c.destroy(); p.s.destroy(); st.pairs.delete(p); };
	st.cut = () => { st.cuts++; st.refuseUntil = Date.now() + 1500; for (const p of [...st.pairs]) drop(p); };
	st.release = () => {
		for (const p of st.pairs) if (p.held) { p.held = false; for (const d of p.pend.splice(0)) p.s.write(d); p.c.resume(); }
	};
	st.server = net.createServer((c) => {
		if (Date.now() < st.refuseUntil) { c.destroy(); return; }
		const p = { c, s: net.connect(target.port, target.hostname), pend: [], held: false };
		st.pairs.add(p);
		for (const x of [p.c, p.s]) { x.on('error', () => drop(p)); x.on('close', () => drop(p)); }
		p.s.on('data', (d) => p.c.write(d));
		p.c.on('data', (d) => {
			if (p.held) { p.pend.push(d); p.c.pause(); return; }
			st.up += d.length;
			if (!p.s.write(d)) { p.c.pause(); p.s.once('drain', () => { if (!p.held) p.c.resume(); }); }
			if (st.up >= st.cutAt) { st.cutAt = Infinity; st.cut(); } else if (st.up >= st.holdAt) { st.holdAt = Infinity; st.held++; p.held = true; }
		});
	});
	return new Promise((resolve) => st.server.listen(0, '127.0.0.1', () => {
		st.origin = `http://127.0.0.1:${st.server.address().port}`;
		resolve(st);
	}));
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const MiB = 1 << 20;

try {
	// --- sign-in
	await page.goto(`${BASE}/`);
	await page.waitForSelector('#email', { timeout: T });
	await axe(page, 'sign-in');
	await shot(page, '01-signin');
	await page.fill('#email', env.EMAIL);
	await page.fill('#password', 'not-the-password');
	await page.click('button[type=submit]');
	await step('sign-in: a wrong password says so', () =>
	    page.waitForFunction(() => /Wrong email or password/.test(document.querySelector('#signin-msg').textContent), null, { timeout: T }));
	await page.fill('#password', env.PASSWORD);
	await page.click('button[type=submit]');
	await step('sign-in: several tenants offer a choice', () => page.waitForSelector('#tenant:visible', { timeout: T }));
	await shot(page, '02-signin-tenant');
	await page.selectOption('#tenant', env.TENANT);
	await page.click('button[type=submit]');
	await step('sign-in: signed in', () => page.waitForSelector('header.top nav', { timeout: T }));
	await step('files: empty state', () => page.waitForFunction(() => /No files here yet/.test(document.body.textContent), null, { timeout: T }));
	await axe(page, 'files (empty)');

	// --- upload three files, with progress events
	await page.evaluate(() => {
		window.progress = {};
		document.addEventListener('upload-progress', (e) => {
			const k = e.target.querySelector('.name').textContent;
			(window.progress[k] = window.progress[k] || []).push(e.detail);
		});
	});
	const video = Buffer.from(await page.evaluate(recordWebm), 'base64');
	const text = Buffer.from('hello from the web test\n'.repeat(20000));
	await page.setInputFiles('#picker', [
		{ name: 'photo.png', mimeType: 'image/png', buffer: readFileSync(env.PHOTO) },
		{ name: 'notes.txt', mimeType: 'text/plain', buffer: text },
		{ name: 'clip.webm', mimeType: 'video/webm', buffer: video },
	]);
	await step('upload: three files done', () => page.waitForFunction(() =>
	    document.querySelectorAll('li.upload.done').length === 3 || document.querySelector('li.upload.error'), null, { timeout: 30000 })
	    .then(async () => { const e = await page.$$eval('li.upload.error .status', (x) => x.map((y) => y.textContent)); if (e.length) throw new Error(e.join('; ')); }));
	const prog = await page.evaluate(() => window.progress);
	const sizes = { 'photo.png': readFileSync(env.PHOTO).length, 'notes.txt': text.length, 'clip.webm': video.length };
	for (const [k, n] of Object.entries(sizes))
		check(`upload: progress events for ${k} end at its size`, prog[k] && prog[k].length > 0 && prog[k][prog[k].length - 1] === n,
		    JSON.stringify(prog[k] || null));
	await shot(page, '03-uploaded');
	await step('files: three rows listed', () => page.waitForFunction(() => document.querySelectorAll('div.files .rows [role=row]').length === 3, null, { timeout: T }));
	await step('thumbnail: loads (naturalWidth > 0)', () => page.waitForFunction(() => {
		const i = document.querySelector('img.thumb');
		return i && i.complete && i.naturalWidth > 0;
	}, null, { timeout: 30000 }));
	await axe(page, 'files (listed)');

	// --- viewer: an image (zoom), a video (seek), text
	const nameBtn = '[role=row][data-key="photo.png"] .name button';
	await page.click(nameBtn);
	await step('viewer: the image loads', () => page.waitForFunction(() => {
		const i = document.querySelector('dialog[open] img.view-img');
		return i && i.complete && i.naturalWidth > 0;
	}, null, { timeout: 30000 }));
	await page.click('dialog[open] button[aria-label="Zoom in"]');
	check('viewer: zoom in enlarges the image', await page.$eval('dialog[open] img.view-img', (i) => i.classList.contains('zoomed') && i.getBoundingClientRect().width > 700),
	    await page.$eval('dialog[open] img.view-img', (i) => i.getBoundingClientRect().width));
	await axe(page, 'viewer (image)');
	await shot(page, '04-viewer-image');
	await page.keyboard.press('Escape');
	await step('viewer: Escape closes and focus returns', () => page.waitForFunction((sel) =>
	    !document.querySelector('dialog[open]') && document.activeElement === document.querySelector(sel), nameBtn, { timeout: T }));
	await page.click('[role=row][data-key="clip.webm"] .name button');
	await step('viewer: the video seeks', () => page.evaluate(() => new Promise((resolve, reject) => {
		const v = document.querySelector('dialog[open] video');
		const to = setTimeout(() => reject(new Error(`no seek: duration ${v.duration}, state ${v.readyState}, error ${v.error && v.error.message}`)), 15000);
		const seek = () => { v.currentTime = 1; };
		v.addEventListener('seeked', () => { clearTimeout(to); v.currentTime > 0.5 ? resolve() : reject(new Error(`at ${v.currentTime}`)); }, { once: true });
		if (v.readyState >= 1) seek(); else v.addEventListener('loadedmetadata', seek, { once: true });
	})));
	await shot(page, '05-viewer-video');
	await page.keyboard.press('Escape');
	await page.click('[role=row][data-key="notes.txt"] .name button');
	await step('viewer: text shows its first MiB', () => page.waitForFunction(() =>
	    /hello from the web test/.test((document.querySelector('dialog[open] pre') || {}).textContent || ''), null, { timeout: T }));
	await page.keyboard.press('Escape');

	// --- viewer: a PDF (in a frame of a blob: URL) and audio
	await page.setInputFiles('#picker', [
		{ name: 'doc.pdf', mimeType: 'application/pdf', buffer: makePdf('Filestor PDF viewer test') },
		{ name: 'tone.wav', mimeType: 'audio/wav', buffer: makeWav(2) },
	]);
	await page.waitForSelector('[role=row][data-key="tone.wav"]', { timeout: T });
	await page.waitForSelector('[role=row][data-key="doc.pdf"]', { timeout: T });
	await page.click('[role=row][data-key="doc.pdf"] .name button');
	await step('viewer: the PDF shows in Chromium\'s PDF viewer', async () => {
		await page.waitForFunction(() => /^blob:/.test(document.querySelector('dialog[open] iframe.view-pdf')?.src || ''), null, { timeout: T });
		// Chromium's viewer: the blob: frame holds its plugin's <embed>,
		// and the viewer's own frame loads inside.
		const end = Date.now() + T;
		let found = '';
		while (Date.now() < end && !found) {
			for (const fr of page.frames().filter((x) => x.url().startsWith('blob:'))) {
				if (await fr.$('embed[type="application/x-google-chrome-pdf"]').catch(() => null) &&
				    page.frames().some((x) => /^chrome-extension:\/\/[a-p]{32}\/index\.html/.test(x.url()))) found = fr.url();
			}
			if (!found) await page.waitForTimeout(100);
		}
		if (!found) throw new Error(`no PDF viewer in the frames: ${page.frames().map((x) => x.url()).join(' ')}`);
	});
	await axe(page, 'viewer (PDF)');
	await page.waitForTimeout(500);
	await shot(page, '05d-viewer-pdf');
	await page.keyboard.press('Escape');
	await page.waitForSelector('dialog[open]', { state: 'detached', timeout: T });
	await page.click('[role=row][data-key="tone.wav"] .name button');
	await step('viewer: the audio plays its length and seeks', () => page.evaluate(() => new Promise((resolve, reject) => {
		const a = document.querySelector('dialog[open] audio');
		const to = setTimeout(() => reject(new Error(`no seek: duration ${a.duration}, state ${a.readyState}, error ${a.error && a.error.message}`)), 15000);
		const seek = () => {
			if (Math.abs(a.duration - 2) > 0.05) { clearTimeout(to); reject(new Error(`duration ${a.duration}`)); return; }
			a.currentTime = 1.5;
		};
		a.addEventListener('seeked', () => { clearTimeout(to); a.currentTime > 1 ? resolve() : reject(new Error(`at ${a.currentTime}`)); }, { once: true });
		if (a.readyState >= 1) seek(); else a.addEventListener('loadedmetadata', seek, { once: true });
	})));
	await axe(page, 'viewer (audio)');
	await shot(page, '05e-viewer-audio');
	await page.keyboard.press('Escape');

	// --- actions: signed link in a fresh context, public/private, move, delete
	await page.click('button[aria-label="Actions for notes.txt"]');
	await page.waitForSelector('dialog[open] #ttl');
	await step('dialog: Tab stays inside', async () => {
		for (let i = 0; i < 25; i++) await page.keyboard.press('Tab');
		if (!await page.evaluate(() => document.querySelector('dialog[open]').contains(document.activeElement))) throw new Error('focus left the dialog');
	});
	await page.selectOption('#ttl', '60');
	await page.click('dialog[open] button:has-text("Copy signed link")');
	await page.waitForFunction(() => document.querySelector('#signed-url').value.includes('token='), null, { timeout: T });
	const url = await page.$eval('#signed-url', (i) => i.value);
	await axe(page, 'actions dialog');
	await shot(page, '06-actions');
	const fresh = await browser.browser() ? await browser.browser().newContext() : null;
	await step('signed link: works in a fresh context without cookies', async () => {
		const ctx = fresh || await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] }).then((b) => b.newContext());
		const r = await ctx.request.get(url);
		if (r.status() !== 200 || !(await r.text()).startsWith('hello from the web test')) throw new Error(`status ${r.status()}`);
		const anon = await ctx.request.get(`${BASE}/api/storage/notes.txt`);
		if (anon.status() !== 401) throw new Error(`without the token: ${anon.status()}`);
		await ctx.close();
	});
	await page.click('dialog[open] button:has-text("Make public")');
	await step('actions: make public shows the badge', () => page.waitForFunction(() =>
	    document.querySelector('[role=row][data-key="notes.txt"] .badge')?.textContent === 'Public', null, { timeout: T }));
	await page.click('button[aria-label="Actions for notes.txt"]');
	await page.click('dialog[open] button:has-text("Make private")');
	await step('actions: make private again', () => page.waitForFunction(() =>
	    document.querySelector('[role=row][data-key="notes.txt"] .badge')?.textContent === 'Private', null, { timeout: T }));

	await page.click('aside button:has-text("New folder")');
	await page.fill('dialog[open] input', 'Reports');
	await page.click('dialog[open] button[type=submit]');
	await step('folders: created and listed', () => page.waitForSelector('nav.folders a:has-text("Reports")', { timeout: T }));
	await page.click('button[aria-label="Actions for notes.txt"]');
	await page.selectOption('#move-to', { label: 'Reports' });
	await page.click('dialog[open] button:has-text("Move")');
	await page.waitForSelector('dialog[open]', { state: 'detached', timeout: T });
	await page.click('nav.folders a:has-text("Reports")');
	await step('actions: moved file is in its folder', () => page.waitForFunction(() =>
	    location.hash.includes('folder=') && document.querySelectorAll('div.files .rows [role=row]').length === 1 &&
	    document.querySelector('[role=row][data-key="notes.txt"]'), null, { timeout: T }));
	await shot(page, '07-folder');
	await page.click('button[aria-label="Actions for notes.txt"]');
	await page.click('dialog[open] button:has-text("Delete file")');
	await page.click('dialog[open]:last-of-type button.danger:has-text("Delete")');
	await step('actions: delete after a confirmation', () => page.waitForFunction(() =>
	    !document.querySelector('[role=row][data-key="notes.txt"]'), null, { timeout: T }));
	await page.click('button[aria-label="Delete folder Reports"]');
	await page.click('dialog[open] button:has-text("Delete folder")');
	await step('folders: deleted', () => page.waitForFunction(() =>
	    ![...document.querySelectorAll('nav.folders a')].some((a) => a.textContent === 'Reports'), null, { timeout: T }));

	// --- drag and drop, a refused file, speed and time left, cancel
	await step('upload: drag and drop', async () => {
		const dt = await page.evaluateHandle(() => {
			const d = new DataTransfer();
			d.items.add(new File(['dropped\n'], 'dropped.txt', { type: 'text/plain' }));
			return d;
		});
		await page.dispatchEvent('section.listing', 'drop', { dataTransfer: dt });
		await page.waitForSelector('[role=row][data-key="dropped.txt"]', { timeout: T });
	});
	note('(bad name)');
	await page.setInputFiles('#picker', [{ name: 'bad\\name.txt', mimeType: 'text/plain', buffer: Buffer.from('x') }]);
	await step('upload: a refused file says why', () => page.waitForFunction(() =>
	    /^Refused: .*backslash/i.test(document.querySelector('li.upload.error .status')?.textContent || ''), null, { timeout: T }));
	note('(throttle)');
	const cdp = await browser.newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 128 * 1024 });
	await page.setInputFiles('#picker', [{ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(2 << 20, 7) }]);
	await step('upload: speed and time left while it runs', () => page.waitForFunction(() =>
	    /\/s · .* left$/.test(document.querySelector('li.upload:last-child .status')?.textContent || ''), null, { timeout: T }));
	await page.click('button[aria-label="Cancel upload of big.bin"]');
	await step('upload: cancel', () => page.waitForSelector('li.upload.cancelled', { timeout: T }));
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
	check('upload: nothing stored after a cancel', (await page.evaluate(() =>
	    fetch('/api/storage?prefix=big.bin').then((r) => r.json()))).items.length === 0);
	await page.evaluate(() => localStorage.setItem('filestor.tusMin', '1'));
	await page.reload();
	await page.waitForSelector('div.files .rows [role=row]', { timeout: T });
	await page.setInputFiles('#picker', [{ name: 'resumable.txt', mimeType: 'text/plain', buffer: Buffer.from('tus or put\n') }]);
	await step('upload: over the tus threshold it goes up (tus, or PUT when the server has no tus)', () =>
	    page.waitForSelector('[role=row][data-key="resumable.txt"]', { timeout: T }));
	await page.evaluate(() => localStorage.removeItem('filestor.tusMin'));
	await tusSteps();

	// --- prefix navigation, load more, the prefix filter
	const made = await page.evaluate(async () => {
		let ok = 0;
		const put = (i) => fetch(`/api/storage/bulk/f-${String(i).padStart(3, '0')}.txt`, { method: 'PUT',
		    headers: { 'X-Requested-With': 'test', 'Content-Type': 'text/plain' }, body: `${i}\n` }).then((r) => { ok += r.ok; });
		for (let i = 0; i < 205; i += 15) await Promise.all(Array.from({ length: Math.min(15, 205 - i) }, (_, j) => put(i + j)));
		return ok;
	});
	check('list: 205 files made under bulk/', made === 205, made);
	await page.evaluate(() => localStorage.setItem('filestor.pageSize', '200'));
	await page.reload();
	await step('prefix: keys with "/" show as a directory, and the rest beside it', () => page.waitForFunction(() =>
	    document.querySelector('[role=row].dir a')?.textContent === 'bulk/' && document.querySelector('[role=row][data-key="photo.png"]'), null, { timeout: T }));
	await page.click('[role=row].dir a');
	await step('prefix: breadcrumbs, and one page of 200', () => page.waitForFunction(() =>
	    document.querySelector('.crumbs [aria-current=page]')?.textContent === 'bulk' &&
	    document.querySelectorAll('div.files .rows [role=row]').length === 200 &&
	    !document.querySelector('button.more').hidden, null, { timeout: T }));
	await page.click('button.more');
	await step('list: load more', () => page.waitForFunction(() =>
	    document.querySelectorAll('div.files .rows [role=row]').length === 205 && document.querySelector('button.more').hidden, null, { timeout: T }));
	await page.fill('#filter', 'f-1');
	await step('list: the prefix filter', () => page.waitForFunction(() =>
	    document.querySelectorAll('div.files .rows [role=row]').length === 100, null, { timeout: T }));
	await page.fill('#filter', 'f-99');
	await step('list: a filter with no match says so', () => page.waitForFunction(() =>
	    /No file starts with that/.test(document.querySelector('p.state').textContent), null, { timeout: T }));
	await axe(page, 'files (no match)');
	await page.evaluate(() => localStorage.removeItem('filestor.pageSize'));
	await page.click('.crumbs a:has-text("All files")');
	await page.waitForSelector('[role=row][data-key="photo.png"]', { timeout: T });

	// --- 360 px
	await page.goto(`${BASE}/#/files`);
	await page.setViewportSize({ width: 360, height: 740 });
	await page.waitForSelector('div.files .rows [role=row]', { timeout: T });
	check('layout: no horizontal scroll at 360 px', await page.evaluate(() => document.documentElement.scrollWidth <= 360),
	    await page.evaluate(() => document.documentElement.scrollWidth));
	await axe(page, 'files at 360 px');
	await shot(page, '08-files-360');
	await page.setViewportSize({ width: 1280, height: 800 });

	// --- agents: enable (key shown once), rotate, disable; add; browse
	await page.click('nav a:has-text("Agents")');
	await page.waitForSelector('tr[data-agent]', { timeout: T });
	await step('agents: the running agent is listed online', () => page.waitForFunction(() =>
	    document.querySelector('tr[data-agent] .badge')?.textContent === 'Online', null, { timeout: T }));
	await axe(page, 'agents');
	await shot(page, '09-agents');
	const tunnelBtn = 'button[aria-label="Tunnel of web-agent"]';
	await page.click(tunnelBtn);
	await page.fill('#tunnel-host', 'agent-web.example.com');
	await page.click('dialog[open] button:has-text("Enable")');
	await page.waitForSelector('dialog[open] .secret', { timeout: T });
	const key1 = await page.$eval('dialog[open] .secret', (i) => i.value);
	check('tunnel: enable shows a 43-character key', /^[A-Za-z0-9_-]{43}$/.test(key1), key1);
	check('tunnel: the warning is shown', await page.isVisible('dialog[open] .warn'));
	check('tunnel: the configure-tunnel command', (await page.$$eval('dialog[open] .secret', (x) => x.map((i) => i.value))).some((v) =>
	    v === 'filestor-agent configure-tunnel --hostname agent-web.example.com --key -'));
	await axe(page, 'tunnel dialog (key)');
	await shot(page, '10-tunnel-key');
	await page.click('dialog[open] button:has-text("I have copied the key")');
	await page.waitForSelector('dialog[open]', { state: 'detached' });
	await step('tunnel: the list shows it on', () => page.waitForFunction(() => /On · agent-web\.example\.com/.test(document.querySelector('tr[data-agent]').textContent), null, { timeout: T }));
	check('tunnel: the key is gone from the page after closing', !(await page.content()).includes(key1) &&
	    !(await page.evaluate((k) => [...document.querySelectorAll('input,textarea')].some((i) => i.value === k), key1)));
	await step('tunnel: focus returned to the Tunnel button', () => page.waitForFunction((s) => document.activeElement === document.querySelector(s), tunnelBtn, { timeout: T }));
	await page.click(tunnelBtn);
	check('tunnel: reopening does not show the key', !(await page.content()).includes(key1));
	await page.click('dialog[open] button:has-text("Rotate key")');
	await page.click('dialog[open] button.primary:has-text("Rotate key")');
	await page.waitForSelector('dialog[open] .secret', { timeout: T });
	const key2 = await page.$eval('dialog[open] .secret', (i) => i.value);
	check('tunnel: rotate shows a new key', /^[A-Za-z0-9_-]{43}$/.test(key2) && key2 !== key1, key2);
	await page.keyboard.press('Escape');
	await page.waitForSelector('dialog[open]', { state: 'detached' });
	check('tunnel: the rotated key is gone after closing', !(await page.content()).includes(key2));
	await page.click(tunnelBtn);
	await page.click('dialog[open] button:has-text("Disable")');
	check('tunnel: disable explains the relay fallback', /fall back to the relay/.test(await page.textContent('dialog[open]:last-of-type')));
	await shot(page, '11-tunnel-disable');
	await page.click('dialog[open] button.danger:has-text("Disable tunnel")');
	await step('tunnel: disabled', () => page.waitForFunction(() => document.querySelector('tr[data-agent] td.tunnel').textContent === 'Off' && !document.querySelector('dialog[open]'), null, { timeout: T }));
	await page.click('button:has-text("Add agent")');
	await page.click('dialog[open] button[type=submit]');
	await step('agents: add shows the exact enroll command', () => page.waitForFunction((b) => {
		const t = document.querySelector('dialog[open] textarea.secret');
		return t && t.value.startsWith(`filestor-agent enroll --server ${b} --token fse_`) && t.value.endsWith('--name nas-1 --allowed-roots /srv/share');
	}, BASE, { timeout: T }));
	await shot(page, '12-add-agent');
	await page.keyboard.press('Escape');
	await page.evaluate(() => localStorage.setItem('filestor.agentPageSize', '2'));
	await page.click('button[aria-label="Browse files of web-agent"]');
	const agentList = (names) => page.waitForFunction((n) =>
	    [...document.querySelectorAll('dialog[open] ul.agent-files li > :first-child')].map((x) => x.textContent).join(',') === n,
	    names, { timeout: T });
	await step('agent browser: the allowed root', () => agentList(env.AGENT_ROOT));
	await page.click(`dialog[open] ul.agent-files button:has-text("${env.AGENT_ROOT}")`);
	await step('agent browser: the root, one page of 2', () => agentList('a.txt,b.txt'));
	await page.click('dialog[open] button.more');
	await step('agent browser: load more', () => agentList('a.txt,b.txt,c.txt,docs/')
	    .then(() => page.waitForSelector('dialog[open] button.more', { state: 'hidden', timeout: T })));
	await page.click('dialog[open] ul.agent-files button:has-text("docs/")');
	await step('agent browser: a directory', () => agentList('report.bin'));
	await axe(page, 'agent browser');
	await shot(page, '12b-agent-browser');
	await step('agent browser: a file downloads through the relay, bytes equal', async () => {
		const [dl] = await Promise.all([page.waitForEvent('download', { timeout: T }),
		    page.click('dialog[open] ul.agent-files a:has-text("report.bin")')]);
		const out = join(env.WORK, 'report.bin');
		await dl.saveAs(out);
		if (dl.suggestedFilename() !== 'report.bin') throw new Error(`named ${dl.suggestedFilename()}`);
		if (!readFileSync(out).equals(readFileSync(join(env.AGENT_ROOT, 'docs', 'report.bin')))) throw new Error('the bytes differ');
	});
	await page.click('dialog[open] button.up');
	await step('agent browser: up to the root', () => agentList('a.txt,b.txt'));
	await page.click('dialog[open] button.up');
	await step('agent browser: up to the allowed roots', () => agentList(env.AGENT_ROOT)
	    .then(() => page.waitForSelector('dialog[open] button.up', { state: 'hidden', timeout: T })));
	await page.keyboard.press('Escape');
	await page.evaluate(() => localStorage.removeItem('filestor.agentPageSize'));

	// --- account: API keys
	await page.click('nav a:has-text("Account")');
	await page.waitForSelector('#key-name');
	await page.fill('#key-name', 'web test');
	await page.click('form button:has-text("Create key")');
	await page.waitForSelector('dialog[open] .secret', { timeout: T });
	const apiKey = await page.$eval('dialog[open] .secret', (i) => i.value);
	check('keys: a new key is shown once', apiKey.startsWith('fs_'), apiKey);
	await axe(page, 'account (new key)');
	await shot(page, '13-new-key');
	await page.keyboard.press('Escape');
	await step('keys: listed without the secret', () => page.waitForFunction((k) =>
	    [...document.querySelectorAll('table.keys td')].some((t) => t.textContent === 'web test') && !document.body.textContent.includes(k), apiKey, { timeout: T }));
	await axe(page, 'account');
	await shot(page, '14-account');
	await page.click('button[aria-label="Revoke key web test"]');
	await page.click('dialog[open] button.danger');
	await step('keys: revoked', () => page.waitForFunction(() =>
	    ![...document.querySelectorAll('table.keys td')].some((t) => t.textContent === 'web test'), null, { timeout: T }));

	// --- 360 px: the other screens
	await page.setViewportSize({ width: 360, height: 740 });
	for (const [hash, sel, name] of [['#/agents', 'tr[data-agent]', 'agents'], ['#/account', '#key-name', 'account']]) {
		await page.evaluate((x) => { location.hash = x; }, hash);
		await page.waitForSelector(sel, { timeout: T });
		check(`layout: no horizontal scroll at 360 px on ${name}`, await page.evaluate(() => document.documentElement.scrollWidth <= 360),
		    await page.evaluate(() => document.documentElement.scrollWidth));
		await shot(page, `15-${name}-360`);
	}
	await axe(page, 'account at 360 px');
	await page.setViewportSize({ width: 1280, height: 800 });

	// --- sign out
	await page.click('button:has-text("Sign out")');
	await step('sign-out: back to sign-in', () => page.waitForSelector('#email', { timeout: T }));
} catch (e) {
	fail('web: the scenario ran to its end', e.message || e);
	console.error(e.stack || e);
	try { await shot(page, '99-failure'); } catch { /* closed */ }
}
check('console: no errors on any page', !consoleErrors.length, consoleErrors.join(' | '));
await browser.close();
rmSync(profile, { recursive: true, force: true });
process.exit(0);

// Large files through tus, in a second page served through tcpRelay:
// a 50 MiB file whose connections are cut mid-upload, then a 24 MiB one
// whose page is reloaded mid-upload and which resumes when chosen again.
// Each is compared (sha256) with its source and has exactly one row.
async function tusSteps() {
	const relay = await tcpRelay(new URL(BASE));
	const rp = await browser.newPage();
	// The cut and the reload fail requests on purpose.
	watch(rp, (url, text) => /net::ERR_|Failed to load/.test(text) && /\/api\/uploads/.test(url));
	try {
		await rp.goto(`${relay.origin}/`);
		await rp.evaluate(() => localStorage.setItem('filestor.tusMin', String(1 << 20)));
		await rp.reload();
		await rp.waitForSelector('div.files .rows [role=row]', { timeout: T });
		await rp.evaluate(() => {
			window.lost = 0;
			new MutationObserver(() => { if (/Connection lost; resuming/.test(document.querySelector('ul.uploads')?.textContent || '')) window.lost++; })
			    .observe(document.body, { subtree: true, childList: true, characterData: true });
		});
		const stored = async (key, src) => {
			const r = await rp.context().request.get(`${BASE}/api/storage/${key}`);
			if (r.status() !== 200) throw new Error(`GET ${key}: ${r.status()}`);
			const got = sha256(await r.body());
			if (got !== sha256(src)) throw new Error(`sha256 ${got} is not the source's`);
			const l = await (await rp.context().request.get(`${BASE}/api/storage?prefix=${key}`)).json();
			if (l.items.length !== 1) throw new Error(`${l.items.length} rows for ${key}`);
		};

		const big = randomBytes(50 * MiB);
		writeFileSync(join(env.WORK, 'big50.bin'), big);
		const up0 = relay.up;
		relay.cutAt = relay.up + 20 * MiB;
		await rp.setInputFiles('#picker', join(env.WORK, 'big50.bin'));
		await step('tus: a 50 MiB upload survives a cut connection', () => rp.waitForFunction(() =>
		    /^Uploaded/.test(document.querySelector('li.upload.done .status')?.textContent || '') ||
		    document.querySelector('li.upload.error'), null, { timeout: 90000 })
		    .then(async () => {
			const e = await rp.$$eval('li.upload.error .status', (x) => x.map((y) => y.textContent));
			if (e.length) throw new Error(e.join('; '));
			if (relay.cuts !== 1) throw new Error(`${relay.cuts} cuts`);
		    }));
		check('tus: the app saw the connection drop and resumed', await rp.evaluate(() => window.lost > 0));
		const sent = relay.up - up0;
		check('tus: it resumed from the server\'s offset (under 50 MiB + 2 chunks sent)', sent < 66 * MiB, `${sent} bytes`);
		await step('tus: the stored 50 MiB object is the source (sha256), in one row', () => stored('big50.bin', big));
		check('tus: the stored URL is forgotten once done', await rp.evaluate(() =>
		    !Object.keys(localStorage).some((k) => k.startsWith('filestor-tus:'))));
		await shot(rp, '05b-tus-reconnect');

		const mid = randomBytes(24 * MiB);
		writeFileSync(join(env.WORK, 'resume24.bin'), mid);
		relay.holdAt = relay.up + 12 * MiB;
		await rp.setInputFiles('#picker', join(env.WORK, 'resume24.bin'));
		await step('tus: held mid-upload, after its first chunk', async () => {
			const end = Date.now() + 30000;
			while (!relay.held && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
			if (!relay.held) throw new Error(`not held at ${relay.up - relay.holdAt} bytes`);
		});
		await rp.reload();
		relay.release();
		// At least the first chunk's 8 MiB: a server that passes a body on
		// as it comes (Apache's mod_fcgid) may have kept part of the second.
		await step('tus: after a reload, the unfinished upload is listed with its offset', () => rp.waitForFunction((min) => {
			const li = document.querySelector('li.upload.unfinished');
			return li && li.querySelector('progress').value >= min &&
			    /^Unfinished: .* of 24 MiB; choose the file again/.test(li.querySelector('.status').textContent);
		}, 8 * MiB, { timeout: T }).catch(async (e) => {
			throw new Error(`${e.message.split('\n')[0]}: ${await rp.$eval('ul.uploads', (u) => u.textContent).catch(() => 'no upload list')}`);
		}));
		await axe(rp, 'files (unfinished upload)');
		await shot(rp, '05c-tus-unfinished');
		const up1 = relay.up;
		await rp.setInputFiles('#picker', join(env.WORK, 'resume24.bin'));
		await step('tus: choosing the file again resumes it', () => rp.waitForFunction(() =>
		    document.querySelector('li.upload.done') || document.querySelector('li.upload.error'), null, { timeout: 60000 })
		    .then(async () => {
			const e = await rp.$$eval('li.upload.error .status', (x) => x.map((y) => y.textContent));
			if (e.length) throw new Error(e.join('; '));
			if (await rp.$('li.upload.unfinished')) throw new Error('still listed as unfinished');
		    }));
		check('tus: only the rest was sent after the reload', relay.up - up1 < 17 * MiB, `${relay.up - up1} bytes`);
		await step('tus: the resumed 24 MiB object is the source (sha256), in one row', () => stored('resume24.bin', mid));
	} finally {
		await rp.close();
		relay.server.close();
		relay.cut();
		rmSync(join(env.WORK, 'big50.bin'), { force: true });
		rmSync(join(env.WORK, 'resume24.bin'), { force: true });
	}
}

// A one-page PDF that shows text, its xref offsets counted.
function makePdf(text) {
	const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
	    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'];
	const stream = `BT /F1 18 Tf 20 70 Td (${text}) Tj ET`;
	objs.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
	let out = '%PDF-1.4\n';
	const offs = objs.map((o, i) => { const at = out.length; out += `${i + 1} 0 obj\n${o}\nendobj\n`; return at; });
	const xref = out.length;
	out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offs.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
	out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(out, 'latin1');
}

// SECONDS of a 440 Hz tone, 8 kHz mono 16-bit PCM WAV.
function makeWav(seconds) {
	const rate = 8000, n = rate * seconds;
	const b = Buffer.alloc(44 + n * 2);
	b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVEfmt ', 8);
	b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
	b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
	b.write('data', 36); b.writeUInt32LE(n * 2, 40);
	for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rate)), 44 + i * 2);
	return b;
}

// In the page: a 2-second VP8 WebM from a canvas, as base64.
async function recordWebm() {
	const c = document.createElement('canvas');
	c.width = 160; c.height = 120;
	const g = c.getContext('2d');
	const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm;codecs=vp8' });
	const parts = [];
	rec.ondataavailable = (e) => parts.push(e.data);
	const done = new Promise((r) => { rec.onstop = r; });
	rec.start(100);
	const t0 = performance.now();
	await new Promise((r) => {
		const draw = () => {
			const t = performance.now() - t0;
			g.fillStyle = `hsl(${t / 10 % 360} 80% 50%)`;
			g.fillRect(0, 0, 160, 120);
			if (t < 2200) requestAnimationFrame(draw); else r();
		};
		draw();
	});
	rec.stop();
	await done;
	const buf = new Uint8Array(await new Blob(parts, { type: 'video/webm' }).arrayBuffer());
	let s = '';
	for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
	return btoa(s);
}
