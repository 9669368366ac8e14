// tests/web/report.mjs: what tests/t18-webapp.sh reads from a browser
// script: one "PASS name" or "FAIL name: why" line per check on stdout,
// and each step's start time on stderr (where the time goes).
export function reporter(prefix = '') {
	const t0 = Date.now();
	const pass = (n) => console.log(`PASS ${prefix}${n}`);
	const fail = (n, why) => console.log(`FAIL ${prefix}${n}: ${String(why).split('\n')[0].slice(0, 300)}`);
	const check = (n, ok, why = '') => (ok ? pass(n) : fail(n, why || 'false'));
	// step(name, fn): a check that passes when fn resolves.
	async function step(n, fn) {
		console.error(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${prefix}${n}`);
		try { await fn(); pass(n); return true; } catch (e) { fail(n, e.message || e); return false; }
	}
	const note = (n) => console.error(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${prefix}${n}`);
	return { pass, fail, check, step, note };
}
