// bench/ui.mjs: run by bench/ui.sh. Prints "BYTES SHOW_MS API_MS".
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const env = process.env;
const require = createRequire(join(env.NODE_MODULES, '..', 'index.js'));
const { chromium } = require('playwright-core');
const N = Number(env.N);
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const profile = mkdtempSync(join(env.TMPDIR || tmpdir(), 'chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 800 },
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update', '--disable-sync',
	    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--disable-domain-reliability'],
});
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.on('console', (m) => console.error(`page: ${m.text()}`));
	await page.goto(`${env.BASE}/`);
	await page.waitForSelector('#email');
	// What the first load fetched: the document and every script and
	// stylesheet, decoded (before compression).
	const bytes = await page.evaluate(() => {
		const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
		return all.filter((e) => e.entryType === 'navigation' || /\.(js|css)$/.test(new URL(e.name).pathname))
		    .reduce((n, e) => n + e.decodedBodySize, 0);
	});
	await page.fill('#email', env.EMAIL);
	await page.fill('#password', env.PASSWORD);
	await page.click('button[type=submit]');
	await page.waitForSelector('header.top nav');
	const show = [], api = [];
	for (let i = 0; i < Number(env.ROUNDS); i++) {
		await page.evaluate(() => { location.hash = '#/account'; });
		await page.waitForSelector('#key-name');
		show.push(await page.evaluate((n) => new Promise((resolve, reject) => {
			const t0 = performance.now();
			const to = setTimeout(() => reject(new Error('the rows never showed')), 30000);
			const seen = () => {
				if (document.querySelectorAll('div.files .rows [role=row]').length < n) return;
				document.removeEventListener('files-loaded', seen);
				clearTimeout(to);
				const t1 = performance.now() - t0;
				const pm = performance.getEntriesByName('files:page').pop();
				console.log(`api+parse at ${(pm.startTime - t0).toFixed(0)} ms`);
				requestAnimationFrame(() => setTimeout(() => { const t2 = performance.now() - t0; console.log(`rows in ${t1.toFixed(0)} ms, shown in ${t2.toFixed(0)} ms`); resolve(t2); }));
			};
			document.addEventListener('files-loaded', seen);
			location.hash = '#/files?prefix=ui%2F';
		}), N));
		api.push(await page.evaluate(async (n) => {
			const t0 = performance.now();
			const r = await fetch(`/api/storage?prefix=ui%2F&limit=${n}`, { headers: { 'X-Requested-With': 'bench' } });
			const j = await r.json();
			if (j.items.length !== n) throw new Error(`${j.items.length} rows`);
			return performance.now() - t0;
		}, N));
	}
	console.log(`${bytes} ${median(show).toFixed(0)} ${median(api).toFixed(0)}`);
} finally {
	await ctx.close();
	rmSync(profile, { recursive: true, force: true });
}
