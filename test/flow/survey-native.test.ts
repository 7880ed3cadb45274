// The survey in C (native/analyze/survey.c) against FlowSurvey (src/flow/survey.ts), the
// reference: the same packets (decoded by the JavaScript) give the same rows, every field, and the
// same stats — over every capture of test/fixtures (the lab's captures included; the public corpus
// too when MIRRORLENS_CORPUS names it), with the options a targeted analysis uses and with the
// lifetimes made short enough to exercise timeouts, linger and eviction; and over hand-built
// conversations for the edge cases (port reuse, duplicates, keep-alives, out of order, RST, TLS
// alerts, HTTP/2 offered, IPv6, capture points). Skipped when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import type { FlowOptions } from '../../src/flow/options.js';
import { captures } from '../captures.js';
import { diffFiles, diffFrames, manyConnections } from './survey-native-diff.js';
import { Talk, vxlanWrap, type TimedFrame } from './packets.js';

const ROOT = join(import.meta.dirname, '../..');
const { addon, why } = loadAnalyzeNative();
const skip = addon === null ? `the native addon is not here: ${why}` : false;

const files = captures(join(ROOT, 'test/fixtures'));
if (process.env.MIRRORLENS_CORPUS) files.push(...captures(process.env.MIRRORLENS_CORPUS));

const FLOWS: FlowOptions[] = [
  { idleGapThresholdSeconds: 1 },
  { idleGapThresholdSeconds: 30, perCapturePoint: true },
  { idleGapThresholdSeconds: 0.001, idleTimeoutSeconds: 0.5, closeLingerSeconds: 0.01, maxConnections: 3, duplicateWindowSeconds: 0 },
  { idleGapThresholdSeconds: 0, idleTimeoutSeconds: 2, closeLingerSeconds: 0, maxConnections: 1, perCapturePoint: true },
];

for (const flow of FLOWS) {
  test(`the C survey gives FlowSurvey's rows and stats on every capture (${JSON.stringify(flow)}, ${files.length} captures)`, { skip }, async () => {
    const problems: string[] = [];
    let rows = 0;
    for (const f of files) {
      const r = await diffFiles(addon!, [f], flow);
      rows += r.rows;
      for (const d of r.diffs) problems.push(`${f.slice(ROOT.length + 1)}: ${d}`);
    }
    assert.deepEqual(problems.slice(0, 20), []);
    assert.ok(rows > 100, `${rows} rows`);
  });
}

test('the C survey follows several inputs as one capture (packet numbers, inputs, offsets)', { skip }, async () => {
  const lab = files.filter((f) => f.includes('/lab/')).slice(0, 4);
  assert.ok(lab.length >= 2);
  const r = await diffFiles(addon!, lab, { idleGapThresholdSeconds: 1 });
  assert.deepEqual(r.diffs, []);
});

const C: [string, number] = ['10.0.0.1', 40000];
const S: [string, number] = ['10.0.0.2', 443];

/** A TLS record header + body of `n` bytes of type `type`. */
function record(type: number, n: number, first = 0): Uint8Array {
  const b = new Uint8Array(5 + n);
  b.set([type, 3, 3, n >> 8, n & 0xff]);
  if (n > 0) b[5] = first;
  return b;
}

/** A ClientHello offering ALPN `protos` (record header included). */
function clientHello(protos: string[]): Uint8Array {
  const alpn = protos.flatMap((p) => [p.length, ...Buffer.from(p)]);
  const ext = [0, 16, 0, alpn.length + 2, 0, alpn.length, ...alpn];
  const body = [3, 3, ...new Array<number>(32).fill(7), 0, 0, 2, 0x13, 1, 1, 0, ext.length >> 8, ext.length & 0xff, ...ext];
  const hs = [1, 0, body.length >> 8, body.length & 0xff, ...body];
  return new Uint8Array([22, 3, 1, hs.length >> 8, hs.length & 0xff, ...hs]);
}

function cases(): [string, TimedFrame[]][] {
  const out: [string, TimedFrame[]][] = [];
  const add = (name: string, f: (t: Talk) => void, talk = new Talk(C, S)): void => {
    f(talk);
    out.push([name, talk.frames]);
  };
  add('a plain exchange and close', (t) => {
    const at = t.handshake(1);
    t.send(0, at + 0.01, 'GET / HTTP/1.1\r\n\r\n');
    t.send(1, at + 0.02, 'HTTP/1.1 200 OK\r\n\r\n');
    t.fin(0, at + 0.03);
    t.fin(1, at + 0.04);
    t.ack(0, at + 0.05);
  });
  add('a silence, a keep-alive, a RST', (t) => {
    const at = t.handshake(1);
    t.send(0, at + 0.01, 'GET / HTTP/1.1\r\n\r\n');
    t.send(1, at + 40, 'HTTP/1.1 200 OK\r\n\r\n');
    t.ack(0, at + 80, { seq: (t.nxt[0] - 1) >>> 0 });
    t.rst(1, at + 400);
  });
  add('duplicates and retransmissions', (t) => {
    const at = t.handshake(1);
    const f = t.send(0, at + 0.01, 'hello');
    t.frames.push({ time: at + 0.011, frame: f.frame });
    t.frames.push({ time: at + 0.5, frame: f.frame });
    t.send(1, at + 0.6, 'world');
  });
  add('out of order and a hole', (t) => {
    const at = t.handshake(1);
    const seq = t.nxt[0];
    t.send(0, at + 0.01, 'aaaa', { seq: (seq + 4) >>> 0 });
    t.send(0, at + 0.02, 'bbbb', { seq });
  });
  add('port reuse after close and a SYN retry', (t) => {
    t.syn(1);
    t.synRetry(2);
    t.synAck(2.1);
    t.ack(0, 2.2);
    t.fin(0, 3);
    t.fin(1, 3.1);
    t.nxt[0] = 900000;
    t.nxt[1] = 700000;
    t.handshake(3.5);
    t.rst(0, 4);
  });
  add('a TLS alert before encryption, then the walk', (t) => {
    const at = t.handshake(1);
    t.send(0, at + 0.01, clientHello(['http/1.1']));
    t.send(1, at + 0.02, record(22, 40));
    t.send(1, at + 0.03, record(21, 2, 2));
  });
  add('TLS both ways encrypted, records split across segments', (t) => {
    const at = t.handshake(1);
    const ch = clientHello(['h2', 'http/1.1']);
    t.send(0, at + 0.01, ch.subarray(0, 3));
    t.send(0, at + 0.011, ch.subarray(3));
    t.send(1, at + 0.02, new Uint8Array([...record(22, 30), ...record(20, 1, 1)]));
    t.send(0, at + 0.03, record(20, 1, 1));
    t.send(0, at + 0.04, record(23, 100));
    t.send(1, at + 0.05, record(21, 2));
  });
  add('h2c prior knowledge and garbage after TLS', (t) => {
    const at = t.handshake(1);
    t.send(0, at + 0.01, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  });
  add('not TLS: bytes that stop looking like records', (t) => {
    const at = t.handshake(1);
    t.send(0, at + 0.01, record(22, 10));
    t.send(0, at + 0.02, 'garbage!');
  });
  add('IPv6, midstream', (t) => {
    t.send(1, 1, 'mid');
    t.send(0, 1.1, 'stream');
    t.fin(0, 2);
  }, new Talk(['2001:db8::1', 50000], ['2001:db8::2', 80]));
  add('data after FIN, many marks', (t) => {
    let at = t.handshake(1);
    for (let k = 0; k < 60; k++) {
      at += 2;
      t.send(0, at, 'q');
      t.send(1, at + 0.001, 'a');
    }
    t.fin(0, at + 1);
    t.send(0, at + 2, 'late');
  });
  // Start times whose toFixed(6) is an exact tie (x.xxxxxx5 exactly: JavaScript rounds up where
  // printf rounds to even), negative, tiny, and too large for toFixed's fixed form.
  for (const [k, t] of [1.0078125, 1000.0234375, 1e9 + 0.0078125, 0.0078125, -3.0078125, -1e-7, 5e-7, 1e21, 3e22].entries()) {
    add(`start time ${t}`, (x) => {
      x.syn(t);
      x.synAck(t + 1);
      x.nxt[0] = 77 + k;
    }, new Talk(['10.9.0.1', 30000 + k], ['10.9.0.2', 80]));
  }
  return out;
}

test('the C survey gives FlowSurvey\'s rows on hand-built edge cases, alone and interleaved, with every option set', { skip }, () => {
  const all = cases();
  const problems: string[] = [];
  for (const flow of [...FLOWS, { idleGapThresholdSeconds: 1, maxConnections: 2 }]) {
    for (const [name, frames] of all) for (const d of diffFrames(addon!, frames, flow).diffs) problems.push(`${name} ${JSON.stringify(flow)}: ${d}`);
    // All at once, in time order (other connections end them: eviction, timeouts).
    const mixed = all.flatMap(([, f]) => f).sort((a, b) => a.time - b.time);
    for (const d of diffFrames(addon!, mixed, flow).diffs) problems.push(`mixed ${JSON.stringify(flow)}: ${d}`);
    // Through VXLAN with two capture points (VNIs).
    const vx = all.flatMap(([, f], k) => f.map((x) => ({ time: x.time, frame: vxlanWrap(x.frame, 100 + (k % 2)) })));
    vx.sort((a, b) => a.time - b.time);
    for (const d of diffFrames(addon!, vx, flow).diffs) problems.push(`vxlan ${JSON.stringify(flow)}: ${d}`);
  }
  assert.deepEqual(problems.slice(0, 20), []);
});

test('the C survey ends the same connections the same way on a busy random mix (seeded)', { skip }, () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const frames: TimedFrame[] = [];
  for (let k = 0; k < 300; k++) {
    const t = new Talk([`10.1.${k % 7}.${k % 5}`, 30000 + (k % 40)], ['10.2.0.1', rnd() < 0.5 ? 443 : 80], (rnd() * 2 ** 32) >>> 0, (rnd() * 2 ** 32) >>> 0);
    let at = rnd() * 100;
    if (rnd() < 0.9) at = t.handshake(at);
    const n = Math.floor(rnd() * 5);
    for (let i = 0; i < n; i++) {
      at += rnd() * 3;
      t.send(rnd() < 0.6 ? 0 : 1, at, rnd() < 0.3 ? clientHello(['h2']) : 'x'.repeat(1 + Math.floor(rnd() * 50)));
    }
    const end = rnd();
    if (end < 0.5) {
      t.fin(0, at + 0.1);
      t.fin(1, at + 0.2);
    } else if (end < 0.7) t.rst(rnd() < 0.5 ? 0 : 1, at + 0.1);
    for (const f of t.frames) {
      frames.push(f);
      if (rnd() < 0.05) frames.push({ time: f.time + rnd() * 0.2, frame: f.frame });
    }
  }
  frames.sort((a, b) => a.time - b.time);
  const problems: string[] = [];
  for (const flow of [...FLOWS, { idleGapThresholdSeconds: 1, maxConnections: 20 }]) for (const d of diffFrames(addon!, frames, flow).diffs) problems.push(`${JSON.stringify(flow)}: ${d}`);
  assert.deepEqual(problems.slice(0, 20), []);
});

// Rows in chunks of 1024 (native/analyze/survey.h): the C survey writes each full chunk to a
// temporary file and keeps only the one being filled; a connection that replaced another on its
// 5-tuple (port reuse) has its uid made over the replaced one's, whose row is long in the file by
// the time it ends (manyConnections, survey-native-diff.ts). With room for every connection, and
// with too little (evictions).
test('the C survey spills full chunks of rows to a file and gives the same rows, the uids over replaced connections included', { skip }, () => {
  const frames = manyConnections();
  const problems: string[] = [];
  for (const flow of [{ idleGapThresholdSeconds: 1 }, { idleGapThresholdSeconds: 1, maxConnections: 40 }]) {
    const r = diffFrames(addon!, frames, flow);
    for (const d of r.diffs) problems.push(`${JSON.stringify(flow)}: ${d}`);
    assert.ok(r.rows > 4 * 1024, `${r.rows} rows`);
    assert.equal(r.spilled, Math.floor(r.rows / 1024) - (r.rows % 1024 === 0 ? 1 : 0), `${r.spilled} chunks spilled of ${r.rows} rows`);
    assert.equal(r.inMemory, 1);
  }
  assert.deepEqual(problems.slice(0, 20), []);
});

test('where no temporary file can be made, the C survey keeps every chunk in memory and gives the same rows', { skip }, () => {
  const frames = manyConnections();
  const dir = mkdtempSync(join(tmpdir(), 'ml-nospill-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    for (const [tmpDir, flow] of [
      [join(dir, 'missing'), { idleGapThresholdSeconds: 1 }],
      [file, { idleGapThresholdSeconds: 1, maxConnections: 40 }],
    ] as const) {
      const r = diffFrames(addon!, frames, flow, 10, { tmpDir });
      assert.deepEqual(r.diffs, []);
      assert.ok(r.rows > 4 * 1024);
      assert.equal(r.spilled, 0);
      assert.equal(r.inMemory, Math.ceil(r.rows / 1024));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when a write to its temporary file fails, the C survey keeps that chunk and the next in memory and gives the same rows', { skip }, () => {
  // A file size limit (bash's ulimit -f, in KiB) lets the first chunk (251 KiB) be written and cuts the second.
  const diff = JSON.stringify(fileURLToPath(new URL('./survey-native-diff.ts', import.meta.url)));
  const native = JSON.stringify(fileURLToPath(new URL('../../src/capture/native-analyze.ts', import.meta.url)));
  const script = `import { diffFrames, manyConnections } from ${diff};
    import { loadAnalyzeNative } from ${native};
    const r = diffFrames(loadAnalyzeNative().addon, manyConnections(), { idleGapThresholdSeconds: 1 });
    console.log(JSON.stringify(r));`;
  const run = spawnSync('bash', ['-c', 'ulimit -f 400 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8', cwd: ROOT });
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { diffs: string[]; rows: number; spilled: number; inMemory: number };
  assert.deepEqual(r.diffs, []);
  assert.ok(r.rows > 4 * 1024);
  assert.equal(r.spilled, 1);
  assert.equal(r.inMemory, Math.ceil(r.rows / 1024) - 1);
});
