// The first pass of a targeted analysis in C (flow/first-pass-native.ts: the native reader and
// survey on the threadpool) against the JavaScript one (processCaptures with FlowSurvey observing
// TLS, as analyze/targeted.ts runs it) on every capture of test/fixtures, one by one and the lab's
// as one multi-file input, with and without a time window: the same pipeline summary (files,
// interfaces, times, counts, flow stats), the same survey rows (every field), the same ICMP errors
// and the same Decryption Secrets Blocks in order. Where the native side declines (gzip, a capture
// warning...), it must say why in one line. Skipped when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import type { TimeWindow } from '../../src/capture/window.js';
import { startNativeFirstPass } from '../../src/flow/first-pass-native.js';
import { closeNativeRows, nativeSurveyOptions, type NativeSurveyRows } from '../../src/flow/survey-native.js';
import type { FlowOptions, IcmpErrorEvent } from '../../src/flow/options.js';
import { processCaptures } from '../../src/flow/pipeline.js';
import { FlowSurvey } from '../../src/flow/survey.js';
import { observeTls } from '../../src/tls/record-walk.js';
import { captures } from '../captures.js';
import { rowFields, same } from '../flow/survey-native-diff.js';

const ROOT = join(import.meta.dirname, '../..');
const { addon, why } = loadAnalyzeNative();
const skip = addon === null ? `the native addon is not here: ${why}` : false;

async function jsPass(inputs: string[], flow: FlowOptions, window: TimeWindow | null) {
  const icmp: { ev: IcmpErrorEvent; packet: number }[] = [];
  const dsbs: { type: number; data: Uint8Array }[] = [];
  let packet = -1;
  const survey = new FlowSurvey(null, { ...flow, observe: observeTls, onIcmpError: (ev) => icmp.push({ ev, packet }) });
  const summary = await processCaptures(
    inputs,
    { onSecrets: (type, data) => dsbs.push({ type, data: Uint8Array.from(data) }) },
    { ...flow, window, tracker: survey, beforeDecode: (rec, n, i) => ((packet = n), survey.at(n, i, rec.byteOffset), true) },
  );
  return { summary, recs: survey.records, icmp, dsbs };
}

/** Differences between the two first passes over `inputs` ('declined: ...' when the native one declined). */
async function diff(inputs: string[], flow: FlowOptions, window: TimeWindow | null): Promise<string[]> {
  const n = await startNativeFirstPass(inputs, flow, window).result;
  if ('declined' in n) return [`declined: ${n.declined}`];
  const j = await jsPass(inputs, flow, window);
  const d: string[] = [];
  const eq = (name: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) d.push(`${name}: js ${JSON.stringify(a)?.slice(0, 300)} c ${JSON.stringify(b)?.slice(0, 300)}`);
  };
  eq('summary', j.summary, n.summary);
  eq('icmp', j.icmp, n.icmp);
  eq('dsbs', j.dsbs.map((x) => [x.type, Buffer.from(x.data).toString('hex')]), n.dsbs.map((x) => [x.type, Buffer.from(x.data).toString('hex')]));
  if (j.recs.size !== n.recs.size) d.push(`rows: js ${j.recs.size} c ${n.recs.size}`);
  for (let r = 0; r < Math.min(j.recs.size, n.recs.size) && d.length < 10; r++) {
    const a = rowFields(j.recs, r);
    const b = rowFields(n.recs, r);
    for (const k of Object.keys(a)) if (!same(a[k], b[k])) d.push(`row ${r} ${k}: js ${JSON.stringify(a[k])} c ${JSON.stringify(b[k])}`);
  }
  return d;
}

const files = captures(join(ROOT, 'test/fixtures'));
const FLOW: FlowOptions = { idleGapThresholdSeconds: 1 };

test(`the native first pass gives the JavaScript one's summary, rows, ICMP errors and secrets on every fixture (${files.length} captures)`, { skip }, async () => {
  const problems: string[] = [];
  const declined: string[] = [];
  for (const f of files) {
    for (const flow of [FLOW, { ...FLOW, perCapturePoint: true }]) {
      const d = await diff([f], flow, null);
      const name = f.slice(ROOT.length + 1);
      if (d.length === 1 && d[0]!.startsWith('declined: ')) {
        assert.doesNotMatch(d[0]!, /\n/, 'a reason is one line');
        if (flow === FLOW) declined.push(`${name}: ${d[0]}`);
      } else for (const x of d) problems.push(`${name} ${JSON.stringify(flow)}: ${x}`);
    }
  }
  assert.deepEqual(problems.slice(0, 20), []);
  // The native side takes every plain capture; it may decline gzip and the hostile fixtures (warnings).
  assert.ok(declined.length < files.length / 4, `declined ${declined.length} of ${files.length}:\n${declined.join('\n')}`);
});

test('the native first pass follows several inputs as one, and a time window', { skip }, async () => {
  const lab = files.filter((f) => f.includes('/lab/') && f.endsWith('.pcapng')).slice(0, 5);
  assert.ok(lab.length >= 2);
  assert.deepEqual(await diff(lab, FLOW, null), []);
  const all = await jsPass(lab, FLOW, null);
  const mid = (all.summary.firstTime! + all.summary.lastTime!) / 2;
  assert.deepEqual(await diff(lab, FLOW, { since: mid - 0.5, until: mid + 0.5 }), []);
  assert.deepEqual(await diff(lab, FLOW, { since: mid, until: Infinity }), []);
});

test('the native first pass declines what it does not take, saying why', async () => {
  const gz = files.find((f) => f.endsWith('.gz'));
  for (const inputs of [['s3://bucket/key.pcap'], ['-'], ...(gz ? [[gz]] : [])]) {
    const r = await startNativeFirstPass(inputs, FLOW, null).result;
    assert.ok('declined' in r, inputs[0]);
    assert.match(r.declined, /\S/);
  }
});

/** A report as JSON with what may differ between two runs masked (elapsed time, where the first pass ran). */
function comparable(r: { stats: { elapsedSeconds: number; dissection?: { firstPass?: string; firstPassNote?: string } } }): string {
  const c = structuredClone(r);
  c.stats.elapsedSeconds = 0;
  if (c.stats.dissection) {
    delete c.stats.dissection.firstPass;
    delete c.stats.dissection.firstPassNote;
  }
  return JSON.stringify(c);
}

test('analyze says where its first pass ran, and the report is the same with MIRRORLENS_NO_NATIVE=1', { skip }, async () => {
  const { spawnSync } = await import('node:child_process');
  const { analyze } = await import('../../src/analyze/analyze.js');
  const lab = join(ROOT, 'test/fixtures/lab');
  for (const name of ['header-too-large-snat-all', 'short-body-snat-all']) {
    const inputs = { captures: [join(lab, `${name}.pcapng`)], keylogs: [join(lab, `${name}.keys`)], albLogs: [join(lab, `${name}.alb.log`)] };
    const here = (await analyze(inputs)).report;
    assert.equal(here.stats.dissection?.firstPass, 'native');
    assert.equal(here.stats.dissection?.firstPassNote, undefined);
    const code = `import { analyze } from ${JSON.stringify(join(ROOT, 'src/analyze/analyze.ts'))}; process.stdout.write(JSON.stringify((await analyze(${JSON.stringify(inputs)})).report));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, MIRRORLENS_NO_NATIVE: '1' }, encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(child.status, 0, child.stderr);
    const there = JSON.parse(child.stdout) as typeof here;
    assert.equal(there.stats.dissection?.firstPass, 'javascript');
    assert.equal(there.stats.dissection?.firstPassNote, 'MIRRORLENS_NO_NATIVE=1');
    assert.ok(here.findings.length > 0, `${name}: a finding to compare`);
    assert.equal(comparable(here), comparable(there), name);
  }
});

test('a native first pass stopped before it ends says so (an analysis that failed first does not wait for it)', { skip }, async () => {
  const lab = files.filter((f) => f.includes('/lab/') && f.endsWith('.pcapng'));
  // The flag is read between segments: set before the work starts, nothing is read past the first.
  const firstPass = addon!.firstPass as (p: string[], o: object) => Promise<{ declined?: string }>;
  const opts = { ...nativeSurveyOptions(FLOW, [], true), since: -Infinity, until: Infinity };
  const r = await firstPass(lab, { ...opts, stop: Int32Array.of(1) });
  assert.match(r.declined ?? 'ran', /stopped/);
  assert.equal((await firstPass(lab, { ...opts, stop: Int32Array.of(0) })).declined, undefined);
  await assert.rejects(async () => firstPass(lab, { ...opts, stop: [1] }), /Int32Array/);
});

test('the native first pass leaves no file open: its spilled rows are closed after the hand-over, and when it declines after spilling', { skip }, async () => {
  const { fstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { generateSynFlood } = await import('./synflood.js');
  // The C survey's files (native/analyze/survey.c spill_open; the survey records' own are named otherwise).
  const open = (): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).includes('/mirrorlens-native-rows-');
      } catch {
        return false; // (closed meanwhile: the directory's own descriptor)
      }
    }).length;
  const dir = mkdtempSync(join(tmpdir(), 'ml-spillfd-'));
  try {
    // 3 000 connections, each over at its RST: two full chunks of rows go to the survey's temporary file.
    const { capture } = generateSynFlood(3_000, join(dir, 'scan'), { real: 0, scan: true, answer: 'rst' });
    const flow = { ...FLOW, closeLingerSeconds: 0 };
    const before = open();
    assert.equal(before, 0);
    // What the addon hands over: two chunks in a file already unlinked, the last one in memory.
    const firstPass = addon!.firstPass as (p: string[], o: object) => Promise<{ survey: NativeSurveyRows }>;
    const { survey } = await firstPass([capture], { ...nativeSurveyOptions(flow, [], true), since: -Infinity, until: Infinity });
    assert.equal(survey.rows, 3_000);
    assert.equal(survey.spilled, 2);
    assert.equal(survey.chunks.length, 1);
    assert.match(readlinkSync(`/proc/self/fd/${survey.fd}`), /\/mirrorlens-native-rows-\d+-\w{6} \(deleted\)$/);
    assert.equal(fstatSync(survey.fd).mode & 0o777, 0o600);
    const flags = parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${survey.fd}`, 'utf8'))![1]!, 8);
    assert.ok((flags & 0o2000000) !== 0, 'O_CLOEXEC'); // (not inherited by a child process)
    closeNativeRows(survey);
    assert.equal(open(), before);
    const r = await startNativeFirstPass([capture], flow, null).result;
    assert.ok(!('declined' in r), 'declined' in r ? r.declined : '');
    assert.equal(r.recs.size, 3_000);
    assert.equal(open(), before, 'descriptors open after a pass that handed its spilled rows over');
    // The same capture cut inside its last block: read and surveyed to the end, then declined.
    const cut = join(dir, 'cut.pcapng');
    const bytes = readFileSync(capture);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const d = await startNativeFirstPass([cut], flow, null).result;
    assert.ok('declined' in d);
    assert.equal(open(), before, `descriptors open after a pass that declined (${d.declined})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
