/**
 * Memory the HTTP stage holds per idle keep-alive HTTP/1 connection: creates N HTTP sinks, passes
 * one request and its response through each (a 400-byte request head, a 300-byte response head
 * with a 93-byte body), keeps the sinks, forces a GC and prints (heap used + array buffers) per
 * connection, the empty baseline subtracted. The flow stage's own objects are not included.
 *
 *   node --expose-gc --import tsx bench/http/idle-memory.ts [--connections 100000] [--impl path/to/http/session.js]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConnInfo, StreamSink } from '../../src/flow/stream.js';
import type { HttpTransaction } from '../../src/http/transaction.js';

type CreateHttpSink = (conn: ConnInfo, info: { alpn: string | null; tls: boolean }, onTx: (tx: HttpTransaction) => void) => StreamSink;

const { values } = parseArgs({ options: { connections: { type: 'string' }, impl: { type: 'string' } } });
const n = Number(values.connections ?? 100000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const createHttpSink = (
  values.impl ? ((await import(pathToFileURL(resolve(values.impl)).href)) as { createHttpSink: CreateHttpSink }).createHttpSink : (await import('../../src/http/session.js')).createHttpSink
) as CreateHttpSink;

const request = Buffer.from(
  'GET /load/17/3 HTTP/1.1\r\nHost: alb.mlab.test\r\nUser-Agent: mirrorlens-lab-load/1\r\nX-Forwarded-For: 10.0.0.1\r\n' +
    'X-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nX-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\n' +
    'Accept: */*\r\nConnection: keep-alive\r\n\r\n',
  'latin1',
);
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 25 Nov 2026 21:42:06 GMT\r\nContent-Type: application/json\r\nContent-Length: 93\r\n` +
    `Connection: keep-alive\r\nKeep-Alive: timeout=600\r\n\r\n${'x'.repeat(93)}`,
  'latin1',
);

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const conns: ConnInfo[] = [];
for (let i = 0; i < n; i++) {
  conns.push({
    uid: `C${i.toString(36).padStart(17, '0')}`,
    communityId: '',
    capturePoint: '',
    clientAddr: '10.0.0.1',
    clientPort: 1024 + (i % 60000),
    serverAddr: '10.0.0.2',
    serverPort: 80,
    startTime: 0,
    previousPacketTime: 0,
  });
}
const before = used();
const sinks: StreamSink[] = [];
let txs = 0;
for (const conn of conns) {
  const sink = createHttpSink(conn, { alpn: null, tls: false }, () => txs++);
  sink.data(0, request, 0, request.length, 0, 1);
  sink.data(1, response, 0, response.length, 0, 1.001);
  sinks.push(sink);
}
const after = used();
if (txs !== n) throw new Error(`${txs} transactions for ${n} connections`);
process.stdout.write(`${n} idle HTTP/1 connections: ${((after - before) / n).toFixed(0)} bytes each (heap + array buffers after GC, node ${process.version})\n`);
