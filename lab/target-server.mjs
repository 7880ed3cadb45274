#!/usr/bin/env node
// The lab's target: a small Node.js http server whose keep-alive and failure behaviour each
// scenario configures. Started by `mirrorlens lab` inside the target namespace:
//   node target-server.mjs '<json options>'
// Options: host, port, keepAliveTimeoutMs, log (file: one JSON line per event), crashPath,
// closePath, slowPath, slowMs, bodyBytes.
// Paths: <slowPath> answers after slowMs; <crashPath> resets the connection (TCP RST) once the
// request is read; <closePath> closes it (FIN) without answering; /bighead* answers with
// bigHeaderBytes of response headers; /short* announces shortBodyMissing more body bytes than it
// sends and waits; anything else answers 200.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { appendFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2] ?? '{}');
const host = o.host ?? '0.0.0.0';
const port = o.port ?? 8080;
const logFile = o.log;
let socketSeq = 0;

function log(ev) {
  const line = JSON.stringify({ time: Date.now() / 1000, ...ev }) + '\n';
  if (logFile) appendFileSync(logFile, line);
}

const handler = (req, res) => {
  const sock = req.socket;
  const ev = { event: 'request', conn: sock.mlabId, remote: `${sock.remoteAddress}:${sock.remotePort}`, method: req.method, url: req.url, traceId: req.headers['x-amzn-trace-id'] ?? null };
  const path = (req.url ?? '/').split('?')[0];
  log({ event: 'received', conn: sock.mlabId, url: req.url, traceId: ev.traceId });
  req.resume();
  req.on('end', () => {
    if (o.crashPath && path.startsWith(o.crashPath)) {
      log({ ...ev, action: 'reset' });
      sock.resetAndDestroy();
      return;
    }
    if (o.closePath && path.startsWith(o.closePath)) {
      log({ ...ev, action: 'close' });
      sock.destroy();
      return;
    }
    if (o.shortBodyMissing && path.startsWith('/short')) {
      const body = 'b'.repeat(500);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length + o.shortBodyMissing });
      res.write(body);
      log({ ...ev, action: 'short-body', status: 200, sent: body.length, announced: body.length + o.shortBodyMissing });
      return; // never ends: the rest of the body never comes
    }
    const delay = o.slowPath && path.startsWith(o.slowPath) ? (o.slowMs ?? 0) : 0;
    const answer = () => {
      if (sock.destroyed) {
        log({ ...ev, action: 'gone' });
        return;
      }
      const body = JSON.stringify({ ok: true, path, traceId: ev.traceId, pad: 'x'.repeat(Math.max(0, (o.bodyBytes ?? 0) - 40)) }) + '\n';
      const big = o.bigHeaderBytes && path.startsWith('/bighead') ? { 'x-mlab-padding': 'p'.repeat(o.bigHeaderBytes) } : {};
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...big });
      res.end(body);
      log({ ...ev, action: 'respond', status: 200, delayMs: delay, ...(big['x-mlab-padding'] ? { headerBytes: o.bigHeaderBytes } : {}) });
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
};

// o.tls: an HTTPS target ({cert, key, minVersion, maxVersion} of the lab's certificate); a failed handshake is logged.
const server = o.tls
  ? https.createServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key), minVersion: o.tls.minVersion, maxVersion: o.tls.maxVersion }, handler)
  : http.createServer(handler);
if (o.tls) server.on('tlsClientError', (err, sock) => log({ event: 'tls-error', remote: `${sock.remoteAddress}:${sock.remotePort}`, error: err.code ?? err.message }));
server.keepAliveTimeout = o.keepAliveTimeoutMs ?? 600_000;
// headersTimeout must exceed keepAliveTimeout or Node closes idle sockets early.
server.headersTimeout = Math.max(60_000, server.keepAliveTimeout + 1000);
server.requestTimeout = 0;
server.on('connection', (sock) => {
  sock.mlabId = ++socketSeq;
  const remote = `${sock.remoteAddress}:${sock.remotePort}`;
  log({ event: 'open', conn: sock.mlabId, remote });
  sock.on('close', (hadError) => log({ event: 'close', conn: sock.mlabId, remote, hadError }));
});
server.listen(port, host, () => {
  process.stdout.write(`target listening on ${host}:${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.closeAllConnections?.(); server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 500).unref(); });
