#!/usr/bin/env node
// The lab's load client: opens `connections` TLS connections to the ALB, sends `requests`
// requests spread over them (HTTP/1.1 keep-alive), `concurrency` connections at a time, and
// appends every TLS secret to the key log (SSLKEYLOGFILE format) as curl would.
//   node load-client.mjs '<json options>'   → prints one JSON summary line
// Options: ip, host, port, ca (PEM file), keylog, connections, requests, concurrency.
import https from 'node:https';
import { appendFileSync, readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2] ?? '{}');
const ca = readFileSync(o.ca);
const perConn = Math.max(1, Math.ceil(o.requests / o.connections));
const statuses = {};
let done = 0;
let errors = 0;
let nextConn = 0;
const t0 = performance.now();

function request(agent, path) {
  return new Promise((resolve) => {
    const req = https.request({ host: o.ip, servername: o.host, port: o.port, path, agent, ca, headers: { host: o.host, 'user-agent': 'mirrorlens-lab-load/1' } }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

async function connection(i) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  agent.on('keylog', (line) => appendFileSync(o.keylog, line));
  const n = Math.min(perConn, o.requests - i * perConn);
  for (let k = 0; k < n; k++) {
    await request(agent, `/load/${i}/${k}`);
    done++;
  }
  agent.destroy();
}

async function worker() {
  while (nextConn < o.connections && nextConn * perConn < o.requests) await connection(nextConn++);
}

await Promise.all(Array.from({ length: o.concurrency }, worker));
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ connections: nextConn, requests: done, errors, statuses, seconds }) + '\n');
