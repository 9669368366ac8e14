// tests/tus-client.js: the real tus client (tus-js-client, pinned in
// tests/npm) against Filestor's /api/uploads, run by t17-uploads.sh as
//   NODE_PATH=<node_modules> node tus-client.js SCENARIO BASE APIKEY KEY FILE
// Scenarios (each prints one JSON line, and exits non-zero on failure):
//   abort   upload FILE in 5 MiB chunks, abort after ~20 MiB, then resume
//           with a new client from the stored URL
//   kill    the same, but the connection is killed mid-chunk (a proxy
//           that cuts the socket), then a new client resumes
//   defer   upload FILE without saying its length at creation
//           (uploadLengthDeferred: the last PATCH says it). A Node stream
//           source cannot be used: tus-js-client 4 sizes each slice of a
//           stream by chunkSize, also the short last one.
// The shell checks the published object (sha256, one row).
'use strict';
const fs = require('fs');
const net = require('net');
const tus = require('tus-js-client');

const [scenario, base, apikey, key, file] = process.argv.slice(2);
const CHUNK = 5 * 1024 * 1024;
const STOP_AT = 20 * 1024 * 1024;

// Every request states its Content-Length, as a browser's does: lighttpd
// 1.4 refuses a chunked body over 64 KiB (411, docs/hosting.md), and
// Node's http sends a body without a length chunked.
class LengthStack extends tus.DefaultHttpStack {
  createRequest(method, url) {
    const req = super.createRequest(method, url);
    const send = req.send.bind(req);
    req.send = (body) => {
      req.setHeader('Content-Length', String(body == null ? 0 : body.length));
      return send(body);
    };
    return req;
  }
}

function options(extra) {
  return Object.assign({
    endpoint: base + '/api/uploads',
    headers: { Authorization: 'Bearer ' + apikey },
    chunkSize: CHUNK,
    metadata: { key, filetype: 'application/octet-stream' },
    retryDelays: null,
    storeFingerprintForResuming: false,
    httpStack: new LengthStack(),
  }, extra);
}

// Run an upload to its end: resolves with the upload, rejects on error.
function run(source, extra) {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(source, options(Object.assign({
      onSuccess: () => resolve(up),
      onError: reject,
    }, extra)));
    up.start();
  });
}

// Start an upload and stop it once STOP_AT bytes went: the URL it got.
function firstPart(buf, endpoint) {
  return new Promise((resolve, reject) => {
    let stopped = false;
    const up = new tus.Upload(buf, options({
      endpoint,
      onChunkComplete: (size, sent) => {
        if (!stopped && sent >= STOP_AT) {
          stopped = true;
          up.abort(false).then(() => resolve(up.url));
        }
      },
      onSuccess: () => reject(new Error('finished before the abort')),
      onError: (err) => (stopped ? null : resolve(up.url || err)),
    }));
    up.start();
  });
}

// A TCP proxy to the server that cuts the link once limit bytes came from
// the client (over all its connections): a PATCH dies mid-chunk, as on a
// dropped link, and nothing passes after.
function cuttingProxy(limit) {
  const u = new URL(base);
  let n = 0;
  const srv = net.createServer((c) => {
    const s = net.connect(Number(u.port), u.hostname);
    c.on('data', (d) => {
      n += d.length;
      if (n > limit) {
        c.destroy();
        s.destroy();
        return;
      }
      s.write(d);
    });
    s.on('data', (d) => c.write(d));
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

async function resume(buf, url) {
  const probe = await run(buf, { uploadUrl: url, endpoint: null });
  return probe.url;
}

async function main() {
  const buf = scenario === 'defer' ? null : fs.readFileSync(file);
  if (scenario === 'abort') {
    const url = await firstPart(buf, base + '/api/uploads');
    if (typeof url !== 'string') throw url;
    const head = await headOffset(url);
    await resume(buf, url);
    return { url, offsetAtAbort: head };
  }
  if (scenario === 'kill') {
    const proxy = await cuttingProxy(STOP_AT + CHUNK / 2);
    const pbase = 'http://127.0.0.1:' + proxy.address().port;
    let url = null;
    try {
      await run(buf, {
        endpoint: pbase + '/api/uploads',
        onAfterResponse: (req, res) => {
          const loc = res.getHeader('Location');
          if (loc) url = new URL(loc, base).toString();
        },
      });
      throw new Error('the cut connection did not fail the upload');
    } catch (err) {
      if (url === null) throw err;
    } finally {
      proxy.close();
    }
    const head = await headOffset(url);
    await resume(buf, url);
    return { url, offsetAtCut: head };
  }
  if (scenario === 'defer') {
    const up = await run(fs.readFileSync(file), {
      uploadLengthDeferred: true,
    });
    return { url: up.url };
  }
  throw new Error('unknown scenario ' + scenario);
}

// The server's offset, as a new client's HEAD would find it.
async function headOffset(url) {
  const res = await fetch(url, {
    method: 'HEAD',
    headers: { Authorization: 'Bearer ' + apikey, 'Tus-Resumable': '1.0.0' },
  });
  return Number(res.headers.get('upload-offset'));
}

main().then(
  (r) => console.log(JSON.stringify(Object.assign({ ok: true }, r))),
  (err) => {
    console.log(JSON.stringify({ ok: false, error: String(err && err.message || err) }));
    process.exit(1);
  },
);
