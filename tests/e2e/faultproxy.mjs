// A fault-injecting HTTP proxy for the end-to-end tests: it forwards everything to one
// upstream (a registry's CORS front) unchanged, except that it can flip one byte of a blob,
// cut the connection after N bytes of a blob, once, hold a blob after N bytes until the
// client goes away, or drop the Range header of a blob request so the registry answers 200 with
// the whole blob, as a server without range support does. It records every request it
// forwards, the status it answered, and whether the client hung up early.

import http from 'node:http';

export async function startFaultProxy(upstream) {
  const [upHost, upPort] = upstream.split(':');
  const faults = { corrupt: new Set(), cut: new Map(), hold: new Map(), noRange: new Set() };
  const log = [];

  const server = http.createServer((req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url.split('?')[0]);
    const digest = blob ? blob[1] : null;
    const entry = { method: req.method, url: req.url, range: req.headers.range ?? null, status: null, closedEarly: false };
    log.push(entry);
    res.on('close', () => { entry.closedEarly = !res.writableFinished; });
    const headers = { ...req.headers };
    if (digest && faults.noRange.has(digest)) delete headers.range;
    const upstreamReq = http.request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers }, (upRes) => {
      entry.status = upRes.statusCode;
      if (digest && faults.corrupt.has(digest) && upRes.statusCode === 200) {
        const chunks = [];
        upRes.on('data', (c) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          body[Math.floor(body.length / 2)] ^= 0xff;
          res.writeHead(upRes.statusCode, upRes.headers);
          res.end(body);
        });
        return;
      }
      const holdAfter = digest ? faults.hold.get(digest) : undefined;
      if (holdAfter !== undefined && upRes.statusCode === 200) {
        res.writeHead(upRes.statusCode, upRes.headers);
        let sent = 0;
        upRes.on('data', (c) => {
          if (sent >= holdAfter) return;
          const part = c.subarray(0, holdAfter - sent);
          sent += part.length;
          res.write(part);
          if (sent >= holdAfter) upRes.pause();
        });
        res.on('close', () => upRes.destroy());
        return;
      }
      const cutAfter = digest ? faults.cut.get(digest) : undefined;
      if (cutAfter !== undefined && upRes.statusCode === 200) {
        faults.cut.delete(digest);
        res.writeHead(upRes.statusCode, upRes.headers);
        let sent = 0;
        upRes.on('data', (c) => {
          if (sent >= cutAfter) return;
          const part = c.subarray(0, cutAfter - sent);
          sent += part.length;
          res.write(part);
          if (sent >= cutAfter) {
            upRes.destroy();
            // Let the browser take in what was sent before the connection drops.
            setTimeout(() => res.socket?.destroy(), 300);
          }
        });
        return;
      }
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${server.address().port}`,
    log,
    corrupt: (d) => faults.corrupt.add(d),
    cutOnce: (d, bytes) => faults.cut.set(d, bytes),
    holdAfter: (d, bytes) => faults.hold.set(d, bytes),
    ignoreRange: (d) => faults.noRange.add(d),
    clear: () => { faults.corrupt.clear(); faults.cut.clear(); faults.hold.clear(); faults.noRange.clear(); log.length = 0; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
