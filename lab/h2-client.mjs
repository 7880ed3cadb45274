#!/usr/bin/env node
// The lab's HTTP/2 client that does not retry: Node's own http2 client sends every path at once as
// streams of one connection and reports what each got. A stream the server refuses with GOAWAY
// fails with Node's error and is not sent again (Node's http2 core leaves retries to the
// application: the client a GOAWAY costs requests). Every TLS secret goes to the key log
// (SSLKEYLOGFILE format) as curl writes it.
//   node h2-client.mjs '<json options>'   → prints one JSON line per path, in the order given
// Options: ip, host, port, ca (PEM file), keylog, paths.
import http2 from 'node:http2';
import tls from 'node:tls';
import { appendFileSync, readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2] ?? '{}');
const socket = tls.connect({ host: o.ip, port: o.port, servername: o.host, ca: readFileSync(o.ca), ALPNProtocols: ['h2'] });
socket.on('keylog', (line) => appendFileSync(o.keylog, line));
const session = http2.connect(`https://${o.host}:${o.port}`, { createConnection: () => socket });
session.on('error', () => {});

const results = await Promise.all(
  o.paths.map(
    (path) =>
      new Promise((resolve) => {
        const startTime = Date.now() / 1000;
        let status = 0;
        const req = session.request({ ':method': 'GET', ':path': path, 'user-agent': 'mirrorlens-lab-h2/1' });
        req.on('response', (h) => {
          status = Number(h[':status']);
        });
        req.resume();
        req.on('end', () => resolve({ path, status, httpVersion: '2', startTime, endTime: Date.now() / 1000 }));
        req.on('error', (e) => resolve({ path, status, httpVersion: '2', startTime, endTime: Date.now() / 1000, error: `${e.code ?? 'error'}: ${e.message}` }));
      }),
  ),
);
session.close();
for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
