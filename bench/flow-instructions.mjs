// Workloads for counting the flow stage's instructions with valgrind (the shared machine's load does
// not move instruction counts much; docs/flow.md, Performance and Code). Runs a BUILD of src/
// (`npx tsc -p tsconfig.build.json --outDir BUILD`), so two builds can be compared:
//
//   valgrind --tool=callgrind node --single-threaded bench/flow-instructions.mjs BUILD replay PASSES CAPTURE...
//     processCaptures over the captures PASSES times (read + decode + flow), sinks that ignore the data
//   valgrind --tool=callgrind node --single-threaded bench/flow-instructions.mjs BUILD synthetic N
//     N connections through FlowTable.ingestSegment (SYN, SYN-ACK, ACK, request, response, ACK; every
//     third closed by FINs both ways), then finish()
//
// The count is callgrind's "Collected" line.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [build, mode, ...rest] = process.argv.slice(2);
if (!build || (mode !== 'replay' && mode !== 'synthetic')) {
  console.error('usage: flow-instructions.mjs BUILD replay PASSES CAPTURE... | BUILD synthetic N');
  process.exit(2);
}
const dir = pathToFileURL(resolve(build)).href;
const sink = { data() {}, gap() {}, end() {} };
let conns = 0;
let events = 0;
const handler = { onConnectionStart: () => sink, onEvent: () => events++, onConnectionEnd: () => conns++ };

if (mode === 'replay') {
  const { processCaptures } = await import(`${dir}/flow/pipeline.js`);
  const [passes, ...inputs] = rest;
  let packets = 0;
  for (let p = 0; p < Number(passes); p++) packets += (await processCaptures(inputs, handler)).packets;
  console.log(`replay: ${packets} packets, ${conns} connections, ${events} events`);
} else {
  const { FlowTable, TcpSegment } = await import(`${dir}/flow/table.js`);
  const n = Number(rest[0]);
  const req = new Uint8Array(Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
  const resp = new Uint8Array(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const table = new FlowTable(handler, { maxConnections: n + 1 });
  const s = new TcpSegment();
  const send = (time, client, cport, fromClient, seq, ack, flags, payload) => {
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
    s.data = payload ?? req;
    s.payloadOffset = 0;
    s.capturedPayload = payload ? payload.length : 0;
    s.payloadLength = s.capturedPayload;
    s.ipLength = 40 + s.payloadLength;
    s.index = -1;
    table.ingestSegment(s, '');
  };
  for (let i = 0; i < n; i++) {
    const client = (0x0a010000 + Math.floor(i / 60000)) >>> 0;
    const cport = 1024 + (i % 60000);
    const t = 1_700_000_000 + i * 0.001;
    const cs = (i * 7919) >>> 0;
    const ss = (i * 104729) >>> 0;
    send(t, client, cport, true, cs, 0, 2, null);
    send(t + 0.0001, client, cport, false, ss, cs + 1, 18, null);
    send(t + 0.0002, client, cport, true, cs + 1, ss + 1, 16, null);
    send(t + 0.0003, client, cport, true, cs + 1, ss + 1, 24, req);
    send(t + 0.0004, client, cport, false, ss + 1, cs + 1 + req.length, 24, resp);
    send(t + 0.0005, client, cport, true, cs + 1 + req.length, ss + 1 + resp.length, 16, null);
    if (i % 3 === 0) {
      send(t + 0.0006, client, cport, true, cs + 1 + req.length, ss + 1 + resp.length, 17, null);
      send(t + 0.0007, client, cport, false, ss + 1 + resp.length, cs + 2 + req.length, 17, null);
    }
  }
  table.finish();
  console.log(`synthetic: ${conns} connections, ${events} events`);
}
