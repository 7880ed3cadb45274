/**
 * TLS stage alone on a real capture with many short connections (the lab's `load` capture: 2 000
 * TLS 1.3 connections, about 27 small records each), where per-connection and per-key costs
 * (key log parsing, key schedule, one decipher per record) matter more than bulk AES speed,
 * which bench/tls/run.ts measures.
 *
 *   node --import tsx bench/tls/replay.ts CAPTURE.pcapng [--keylog KEYS] [--rounds 7]
 *
 * The capture is read once through the flow stage and every TCP connection's reassembled byte
 * stream is kept in memory (copied chunks, in capture order per connection). Each round then
 * starts from a fresh KeyLog (the --keylog file, then the capture's Decryption Secrets Blocks,
 * as `analyze` does) and replays every connection through createAppSink (TLS detection,
 * decryption, plaintext handed to a counting sink). Prints CPU ms per round (median, min-max),
 * records decrypted and plaintext bytes, and checks every round decrypted the same.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { ConnInfo, Direction, StreamSink } from '../../src/flow/stream.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { createAppSink } from '../../src/tls/sniff.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { keylog: { type: 'string' }, rounds: { type: 'string', default: '7' } },
});
if (positionals.length !== 1) {
  console.error('usage: node --import tsx bench/tls/replay.ts CAPTURE.pcapng [--keylog KEYS] [--rounds N]');
  process.exit(2);
}
const rounds = Number(values.rounds);

interface Chunk {
  dir: Direction;
  bytes: Uint8Array;
  streamOffset: number;
  time: number;
}
interface RecordedConnection {
  conn: ConnInfo;
  chunks: Chunk[];
}

const connections: RecordedConnection[] = [];
const secretBlocks: { type: number; data: Uint8Array }[] = [];
await processCaptures(positionals, {
  onSecrets: (type, data) => void secretBlocks.push({ type, data: data.slice() }),
  onConnectionStart(conn) {
    const rec: RecordedConnection = { conn, chunks: [] };
    connections.push(rec);
    return {
      data: (dir, b, o, l, streamOffset, time) => void rec.chunks.push({ dir, bytes: b.slice(o, o + l), streamOffset, time }),
      gap() {},
      end() {},
    };
  },
});
const keyLogText = values.keylog === undefined ? null : readFileSync(values.keylog, 'latin1');
const streamBytes = connections.reduce((n, c) => n + c.chunks.reduce((m, x) => m + x.bytes.length, 0), 0);

let plainBytes = 0;
const counter: StreamSink = { data: (_d, _b, _o, length) => void (plainBytes += length), gap() {}, end() {} };

function round(): { cpuMs: number; records: number; plain: number; tlsConnections: number } {
  plainBytes = 0;
  let records = 0;
  let tlsConnections = 0;
  const cpu0 = process.cpuUsage();
  const keys = new KeyLog();
  if (keyLogText !== null) keys.addText(keyLogText, 'keys');
  for (const s of secretBlocks) keys.addDsb(s.type, s.data);
  for (const { conn, chunks } of connections) {
    const sink = createAppSink(conn, keys, () => counter);
    for (const c of chunks) sink.data(c.dir, c.bytes, 0, c.bytes.length, c.streamOffset, c.time);
    sink.end(0, 'fin', 0);
    sink.end(1, 'fin', 0);
    if (sink.tls !== null) {
      tlsConnections++;
      records += sink.tls.recordsDecrypted;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, records, plain: plainBytes, tlsConnections };
}

const results = [];
for (let r = 0; r < rounds; r++) results.push(round());
const first = results[0]!;
for (const r of results) {
  if (r.records !== first.records || r.plain !== first.plain) throw new Error('rounds differ: decryption is not deterministic');
}
const cpus = results.map((r) => r.cpuMs).sort((a, b) => a - b);
const median = cpus[Math.floor(cpus.length / 2)]!;
console.log(
  `TLS replay: ${connections.length} connections (${first.tlsConnections} TLS), ${(streamBytes / 1e6).toFixed(1)} MB of TCP stream, ` +
    `${first.records} records decrypted, ${(first.plain / 1e6).toFixed(1)} MB plaintext out; ` +
    `CPU per round median ${median.toFixed(0)} ms (min ${cpus[0]!.toFixed(0)}, max ${cpus[cpus.length - 1]!.toFixed(0)}, ${rounds} rounds)` +
    ` = ${(first.records / (median / 1000)).toFixed(0)} records per CPU second`,
);
