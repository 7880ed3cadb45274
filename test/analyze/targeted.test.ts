// The targeted analysis (src/analyze/targeted.ts: survey every packet, read through TLS and HTTP
// only the connections a finding can need) must give the full pipeline's answers. Compared here,
// report against report (everything but the statistics): every capture of test/fixtures and of the
// shared corpus (with the key logs beside them), the path model's built scenarios in both NAT modes
// and every mirror set, and a busy capture where one request of many failed. The lab scenarios'
// captures are compared by the lab tests themselves: scripts/run-tests.mjs sets
// MIRRORLENS_DIFFERENTIAL=1, which makes every `analyze` run (in process or the CLI the lab
// starts) run both ways and fail on a difference (src/analyze/differential.ts); an analysis
// without an ALB access log, full by default, is then also run targeted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { analyze } from '../../src/analyze/analyze.js';
import { reportDifference } from '../../src/analyze/differential.js';
import type { AnalyzeInputs } from '../../src/analyze/options.js';
import type { Report } from '../../src/analyze/model.js';
import { renderText } from '../../src/report/text.js';
import { renderFindingEvidence } from '../../src/report/json.js';
import { writeEvidence } from '../../src/analyze/evidence.js';
import { Talk } from '../flow/packets.js';
import { albLine, cleanRequest, getRequest as get, LB_BACK_ADDR, LB_FRONT, OK_200 as OK, T0, TARGET, writeScenario } from './scenario.js';
import { build, EXPECT, type Mirror, type Nat, type Story } from './path-scenarios.js';
import { runBin } from '../cli/bin.js';

// Both modes are run explicitly here: the environment's check would run the full one a third time.
delete process.env.MIRRORLENS_DIFFERENTIAL;

const FIXTURES = resolve(import.meta.dirname, '../fixtures');
// The public corpus: MIRRORLENS_CORPUS, else ../shared/corpus beside the checkout (skipped when absent).
const CORPUS = process.env.MIRRORLENS_CORPUS ?? resolve(import.meta.dirname, '../../../shared/corpus');

function captures(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) captures(p, out);
    else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(f)) out.push(p);
  }
  return out;
}

/** Both modes on the same inputs: the targeted report, after checking it gives the full one's answers. */
async function bothWays(inputs: AnalyzeInputs): Promise<{ targeted: Report; full: Report }> {
  const full = (await analyze(inputs, { dissect: 'all' })).report;
  const targeted = (await analyze(inputs, { dissect: 'needed' })).report;
  assert.equal(full.stats.dissection?.mode, 'full');
  assert.equal(targeted.stats.dissection?.mode, 'targeted', JSON.stringify(targeted.stats.dissection));
  assert.equal(reportDifference(full, targeted), null, inputs.captures.join(', '));
  return { targeted, full };
}

for (const [name, root] of [['test/fixtures', FIXTURES], ['the shared corpus', CORPUS]] as const) {
  test(`every capture of ${name}: the targeted analysis gives the full one's findings, connections, transactions, scans and log summary`, { skip: existsSync(root) ? false : `${root} is not here` }, async () => {
    const files = captures(root);
    assert.ok(files.length > 50, `${files.length} captures`);
    for (const f of files) {
      const dir = dirname(f);
      const keylogs = readdirSync(dir).filter((x) => /keylog|\.keys$/.test(x)).map((x) => join(dir, x));
      await bothWays({ captures: [f], keylogs });
    }
  });
}

test('the path model scenarios, both NAT modes, every mirror set: the same answers both ways', async () => {
  for (const story of Object.keys(EXPECT) as Story[]) {
    for (const nat of ['preserve', 'snat'] as Nat[]) {
      for (const mirror of ['lb', 'target', 'all'] as Mirror[]) {
        const b = build(story, nat);
        const s = writeScenario(`tgt-${story}-${nat}-${mirror}`, mirror !== 'target' ? b.front : [], mirror !== 'target' ? b.lb : [], b.log, mirror !== 'lb' ? b.tgt : []);
        const flowLogs: string[] = [];
        if (b.flow.length) {
          flowLogs.push(join(s.dir, 'flow.log'));
          writeFileSync(flowLogs[0]!, `${b.flow.join('\n')}\n`);
        }
        const { targeted } = await bothWays({ captures: [s.capture], albLogs: [s.albLog], flowLogs });
        assert.ok(targeted.findings.some((f) => f.kind === EXPECT[story]), `${story} ${nat} ${mirror}: ${targeted.findings.map((f) => f.kind).join(', ')}`);
      }
    }
  }
});

const TRACE_WARM = 'Root=1-6924a8a0-aaaaaaaaaaaaaaaaaaaaaaaa';
const TRACE_FAIL = 'Root=1-6924aa0a-bbbbbbbbbbbbbbbbbbbbbbbb';
const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/**
 * A busy capture: `clean` client connections each with one request answered 200 through its own
 * target connection (all closed cleanly, every one logged 200), and one request answered 502
 * after the target reset a pooled connection it had been idle on for 361 s.
 */
function busy(clean: number): { front: Talk[]; back: Talk[]; log: string[] } {
  const front: Talk[] = [];
  const back: Talk[] = [];
  const log: string[] = [];
  for (let i = 0; i < clean; i++) {
    const r = cleanRequest(i, `Root=1-6924a8a0-${String(i).padStart(24, '0')}`);
    front.push(r.front);
    back.push(r.back);
    log.push(r.log);
  }
  // The pooled connection, warm at T0+1 (a client's request), reset when reused at T0+362.
  const warm = new Talk(['198.51.100.7', 50000], LB_FRONT, 11000, 21000);
  warm.handshake(T0 + 0.996);
  warm.send(0, T0 + 0.998, get('/warm'));
  warm.send(1, T0 + 1.006, OK);
  warm.ack(0, T0 + 1.0065);
  warm.fin(0, T0 + 1.007);
  warm.fin(1, T0 + 1.0072);
  warm.ack(0, T0 + 1.0075);
  front.push(warm);
  log.push(albLine({ time: T0 + 1.006, requestTime: T0 + 0.998, client: ['198.51.100.7', 50000], processing: ['0.000', '0.005', '0.000'], elbStatus: 200, targetStatus: 200, request: 'GET http://api.example.com:80/warm HTTP/1.1', traceId: TRACE_WARM }));
  const pooled = new Talk([LB_BACK_ADDR, 41000], TARGET, 31000, 41000);
  pooled.handshake(T0 + 0.998);
  pooled.send(0, T0 + 1, get('/warm', TRACE_WARM));
  pooled.ack(1, T0 + 1.0004);
  pooled.send(1, T0 + 1.005, OK);
  pooled.ack(0, T0 + 1.0055);
  const tFail = T0 + 362;
  const c = new Talk(['198.51.100.7', 51000], LB_FRONT, 12000, 22000);
  c.handshake(tFail - 0.004);
  c.send(0, tFail - 0.002, get('/orders')); // the load balancer adds the trace id
  c.ack(1, tFail - 0.0015);
  pooled.send(0, tFail, get('/orders', TRACE_FAIL));
  pooled.rst(1, tFail + 0.0003, false);
  c.send(1, tFail + 0.001, BAD_GATEWAY);
  c.ack(0, tFail + 0.0015);
  c.fin(0, tFail + 0.002);
  c.fin(1, tFail + 0.0022);
  c.ack(0, tFail + 0.0025);
  front.push(c);
  back.push(pooled);
  log.push(albLine({ time: tFail + 0.001, requestTime: tFail - 0.002, client: ['198.51.100.7', 51000], processing: ['0.002', '-1', '-1'], elbStatus: 502, request: 'GET http://api.example.com:80/orders HTTP/1.1', traceId: TRACE_FAIL }));
  return { front, back, log };
}

test('a busy capture with one failed request: only the connections behind it are read through HTTP, with the same finding, and the stats say which and why', async () => {
  const b = busy(60);
  const s = writeScenario('tgt-busy', b.front, b.back, b.log);
  const { targeted, full } = await bothWays({ captures: [s.capture], albLogs: [s.albLog] });
  assert.deepEqual(
    targeted.findings.map((f) => `${f.kind} ${f.status} ${f.request?.path}`),
    ['idle-timeout-reset 502 /orders'],
  );
  const d = targeted.stats.dissection!;
  assert.equal(d.connections, 123);
  assert.equal(full.stats.dissection!.dissected, 123);
  // The failed request's client connection and the pooled target connection, not the 120 clean ones.
  assert.ok(d.dissected >= 2 && d.dissected <= 4, JSON.stringify(d));
  assert.equal(d.logs, 'access log');
  assert.ok((d.byReason?.['error-log-line'] ?? 0) >= 1, JSON.stringify(d.byReason));
  assert.ok(targeted.stats.httpTransactions < full.stats.httpTransactions);
  assert.match(renderText(targeted), new RegExp(`Read ${d.dissected} of 123 connections through TLS and HTTP \\(targeted: `));
});

test('without an access log every connection is read by default; targeted, the client side is read whole (the load balancer answers 5xx only there), and the report says so', async () => {
  const b = busy(20);
  const s = writeScenario('tgt-nolog', b.front, b.back, []);
  const auto = (await analyze({ captures: [s.capture] })).report.stats.dissection!;
  assert.deepEqual([auto.mode, auto.reason, auto.dissected], ['full', 'no ALB access log to say which requests failed', 43]);
  const { targeted } = await bothWays({ captures: [s.capture] });
  const d = targeted.stats.dissection!;
  assert.equal(d.logs, 'none: every client-side connection read');
  assert.ok((d.byReason?.['no-access-log'] ?? 0) >= 22, JSON.stringify(d));
  assert.ok(d.dissected < d.connections, JSON.stringify(d));
  assert.ok(targeted.findings.some((f) => f.kind === 'idle-timeout-reset'), targeted.findings.map((f) => `${f.kind} ${f.status}`).join(', '));
});

test('--all and --full read every connection, and the report says why', async () => {
  const b = busy(3);
  const s = writeScenario('tgt-modes', b.front, b.back, b.log);
  const inputs = { captures: [s.capture], albLogs: [s.albLog] };
  const all = (await analyze(inputs, { all: true })).report.stats.dissection!;
  assert.deepEqual([all.mode, all.reason, all.dissected], ['full', '--all lists every connection and transaction', 9]);
  const asked = (await analyze(inputs, { dissect: 'all' })).report.stats.dissection!;
  assert.deepEqual([asked.mode, asked.reason], ['full', 'asked for (--full)']);
  const cli = await runBin(['analyze', s.capture, '--alb-log', s.albLog, '--full', '--format', 'json'], { env: { MIRRORLENS_DIFFERENTIAL: undefined } });
  assert.equal(cli.code, 0, cli.err);
  assert.equal((JSON.parse(cli.out) as Report).stats.dissection?.mode, 'full');
  const text = await runBin(['analyze', s.capture, '--alb-log', s.albLog], { env: { MIRRORLENS_DIFFERENTIAL: undefined } });
  assert.match(text.out, /Read \d+ of 9 connections through TLS and HTTP \(targeted/);
});

/** One HTTP/2 frame (RFC 9113 §4.1): length, type, flags, stream id, payload. */
function h2(type: number, flags: number, stream: number, payload: number[] = []): Uint8Array {
  const n = payload.length;
  return Uint8Array.from([n >> 16, (n >> 8) & 0xff, n & 0xff, type, flags, (stream >>> 24) & 0x7f, (stream >>> 16) & 0xff, (stream >>> 8) & 0xff, stream & 0xff, ...payload]);
}

/** HEADERS (END_STREAM | END_HEADERS) of a GET: :method GET, :scheme http (static indexes 2, 6), :path as a literal with indexed name 4 (HPACK §6.2.2). */
function h2Get(stream: number, path: string): Uint8Array {
  return h2(1, 0x5, stream, [0x82, 0x86, 0x04, path.length, ...Buffer.from(path, 'latin1')]);
}

/** HEADERS (END_STREAM | END_HEADERS) answering :status 200 (static index 8), no body. */
function h2Ok(stream: number): Uint8Array {
  return h2(1, 0x5, stream, [0x88]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = h2(4, 0, 0);
const SETTINGS_ACK = h2(4, 1, 0);

test('an HTTP/2 GOAWAY: the retries on the client\'s other connection, answered and logged 200, are read too (the finding pairs each cut stream with its retry)', async () => {
  const t = T0 + 20;
  // Connection A: /a, /b, /c on streams 1, 3, 5; the load balancer answers /a, then GOAWAY last-stream-id 1 and closes.
  const a = new Talk(['198.51.100.7', 53000], LB_FRONT, 510_000, 520_000);
  a.handshake(t - 0.002);
  a.send(0, t, concat(PREFACE, SETTINGS, h2Get(1, '/a'), h2Get(3, '/b'), h2Get(5, '/c')));
  a.send(1, t + 0.001, concat(SETTINGS, SETTINGS_ACK, h2Ok(1), h2(7, 0, 0, [0, 0, 0, 1, 0, 0, 0, 0])));
  a.ack(0, t + 0.0015);
  a.fin(1, t + 0.002);
  a.fin(0, t + 0.0022);
  a.ack(1, t + 0.0025);
  // Connection B, a moment later: the client retries /b and /c, answered.
  const b = new Talk(['198.51.100.7', 53001], LB_FRONT, 530_000, 540_000);
  const r = t + 2;
  b.handshake(r - 0.002);
  b.send(0, r, concat(PREFACE, SETTINGS, h2Get(1, '/b'), h2Get(3, '/c')));
  b.send(1, r + 0.001, concat(SETTINGS, SETTINGS_ACK, h2Ok(1), h2Ok(3)));
  b.ack(0, r + 0.0015);
  b.fin(0, r + 0.002);
  b.fin(1, r + 0.0022);
  b.ack(0, r + 0.0025);
  const line = (port: number, path: string, at: number): string =>
    albLine({ time: at + 0.001, requestTime: at, client: ['198.51.100.7', port], processing: ['0.000', '0.001', '0.000'], elbStatus: 200, targetStatus: 200, request: `GET http://api.example.com:80${path} HTTP/2.0` });
  const s = writeScenario('tgt-goaway', [a, b], [], [line(53000, '/a', t), line(53001, '/b', r), line(53001, '/c', r)]);
  const { targeted } = await bothWays({ captures: [s.capture], albLogs: [s.albLog] });
  const f = targeted.findings.find((x) => x.kind === 'http2-goaway');
  assert.ok(f, targeted.findings.map((x) => x.kind).join(', '));
  assert.equal(f.goaway?.streams.filter((x) => x.retry !== null).length, 2, JSON.stringify(f.goaway));
  assert.equal(targeted.stats.dissection?.byReason?.['goaway-retry'], 1, JSON.stringify(targeted.stats.dissection));
});

test('--evidence writes the same files from a targeted analysis as from the full one', async () => {
  const b = busy(5);
  const s = writeScenario('tgt-evidence', b.front, b.back, b.log);
  const inputs = { captures: [s.capture], albLogs: [s.albLog] };
  const files: Record<string, string>[] = [];
  for (const dissect of ['needed', 'all'] as const) {
    const { report, context } = await analyze(inputs, { dissect, keepKeyLogTexts: true });
    const dir = mkdtempSync(join(tmpdir(), `ml-evidence-${dissect}-`));
    assert.ok((await writeEvidence(report, context, inputs, dir, renderFindingEvidence)) >= 2);
    files.push(Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')])));
  }
  assert.deepEqual(Object.keys(files[0]!), Object.keys(files[1]!));
  assert.deepEqual(files[0], files[1]);
});
