/**
 * Memory per tracked idle TCP connection in the flow table.
 *
 *   node --expose-gc --import tsx bench/flow-memory.ts [CONNECTIONS=1000000] [--handshake-only]
 *
 * Creates CONNECTIONS connections, each with a full handshake, one request and one response
 * (payload delivered in order, nothing held), then leaves them idle (tracked, not expired: the
 * default idle timeout is 6000 s). Reports heapUsed + arrayBuffers after a forced GC, minus the
 * baseline, per connection; and the packet rate while building them. Figures go to docs/performance.md.
 */
import { FlowTable, TcpSegment } from '../src/flow/table.js';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const handshakeOnly = process.argv.includes('--handshake-only');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc --import tsx bench/flow-memory.ts');
  process.exit(2);
}

const payloadReq = new Uint8Array(Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
const payloadResp = new Uint8Array(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
let ended = 0;
const table = new FlowTable({ onConnectionEnd: () => ended++ }, { maxConnections: n + 1, maxMarks: process.argv.includes("--no-marks") ? 0 : undefined });
const s = new TcpSegment();

function send(time: number, client: number, cport: number, fromClient: boolean, seq: number, ack: number, flags: number, payload: Uint8Array | null): void {
  s.time = time;
  s.ipVersion = 4;
  s.src4 = fromClient ? client : 0x0a000214;
  s.dst4 = fromClient ? 0x0a000214 : client;
  s.srcPort = fromClient ? cport : 80;
  s.dstPort = fromClient ? 80 : cport;
  s.seq = seq >>> 0;
  s.ack = ack >>> 0;
  s.flags = flags;
  s.window = 502;
  s.checksum = (seq ^ ack) & 0xffff;
  s.ipId = (seq + flags) & 0xffff;
  s.mss = flags & 2 ? 1460 : -1;
  s.windowScale = flags & 2 ? 7 : -1;
  s.sackPermitted = (flags & 2) !== 0;
  s.tsVal = -1;
  s.data = payload ?? payloadReq;
  s.payloadOffset = 0;
  s.capturedPayload = payload ? payload.length : 0;
  s.payloadLength = s.capturedPayload;
  s.ipLength = 40 + s.payloadLength;
  s.index = -1;
  table.ingestSegment(s, '');
}

gc();
const mem = () => { const u = process.memoryUsage(); return u.heapUsed + u.arrayBuffers; };
const base = mem();
const t0 = performance.now();
let packets = 0;
const start = 1_700_000_000;
for (let i = 0; i < n; i++) {
  const client = (0x0a010000 + Math.floor(i / 60000)) >>> 0; // 10.1.x.y
  const cport = 1024 + (i % 60000);
  const t = start + i * 1e-4;
  const cisn = (i * 7919) >>> 0;
  const sisn = (i * 104729) >>> 0;
  send(t, client, cport, true, cisn, 0, 2, null);
  send(t + 1e-5, client, cport, false, sisn, cisn + 1, 18, null);
  send(t + 2e-5, client, cport, true, cisn + 1, sisn + 1, 16, null);
  packets += 3;
  if (!handshakeOnly) {
    send(t + 3e-5, client, cport, true, cisn + 1, sisn + 1, 24, payloadReq);
    send(t + 4e-5, client, cport, false, sisn + 1, cisn + 1 + payloadReq.length, 24, payloadResp);
    send(t + 5e-5, client, cport, true, cisn + 1 + payloadReq.length, sisn + 1 + payloadResp.length, 16, null);
    packets += 3;
  }
}
const ms = performance.now() - t0;
gc();
const used = mem() - base;
if (table.size !== n || ended !== 0) throw new Error(`expected ${n} tracked connections, have ${table.size} (${ended} ended)`);
console.log(
  JSON.stringify({
    bench: 'flow-memory',
    connections: n,
    scenario: handshakeOnly ? 'handshake only' : 'handshake + request + response, then idle',
    bytesPerConnection: Math.round(used / n),
    heapUsedMiB: Math.round(used / 2 ** 20),
    packetsPerSecond: Math.round(packets / (ms / 1000)),
    node: process.version,
  }),
);
table.finish();
