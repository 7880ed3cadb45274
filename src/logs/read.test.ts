import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readLogs, type LogRecord } from './read.js';
import type { BadLine } from './types.js';
import { isMirrorlensError } from '../wire/errors.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ml-logs-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function collect(paths: string[], opts: Parameters<typeof readLogs>[2] = {}): Promise<{ recs: LogRecord[]; bad: BadLine[]; summary: Awaited<ReturnType<typeof readLogs>> }> {
  const recs: LogRecord[] = [];
  const bad: BadLine[] = [];
  const summary = await readLogs(paths, (r) => recs.push(r), { ...opts, onBadLine: (b) => bad.push(b) });
  return { recs, bad, summary };
}

test('a directory in the S3 layout with .gz files: every file found, format detected per file', async (t) => {
  const root = tmp(t);
  const albDir = join(root, 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02');
  const flowDir = join(root, 'AWSLogs/123456789012/vpcflowlogs/us-east-2/2018/07/02');
  mkdirSync(albDir, { recursive: true });
  mkdirSync(flowDir, { recursive: true });
  writeFileSync(join(albDir, '123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_172.160.001.192_20sg8hgm.log.gz'), gzipSync(fixture('alb-2023-doc.log')));
  writeFileSync(join(albDir, 'conn_log.123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_172.160.001.192_x.log.gz'), gzipSync(fixture('alb-conn-doc.log')));
  writeFileSync(join(flowDir, '123456789012_vpcflowlogs_us-east-2_fl-1234abcd_20180702T2225Z_fe123456.log.gz'), gzipSync(fixture('flow-v5-doc.log')));
  writeFileSync(join(root, '.hidden'), 'not a log');
  writeFileSync(join(root, 'AWSLogs/123456789012/ELBAccessLogTestFile'), 'Enable AccessLog for ELB: my-loadbalancer at 2018-07-02T22:20:00.000Z');
  const { recs, bad, summary } = await collect([root]);
  assert.deepEqual(bad, []);
  assert.equal(summary.files.length, 3);
  assert.deepEqual(summary.byFormat, { alb: 7, 'alb-conn': 2, flow: 2 });
  assert.ok(summary.files.every((f) => f.gzip));
  assert.equal(summary.records, 11);
  assert.equal(summary.lines, 7 + 2 + 3);
  const flow = recs.find((r) => r.kind === 'flow')!;
  assert.equal(flow.kind === 'flow' && flow.flowDirection, 'ingress');
  assert.equal(flow.line, 2); // line 1 is the header
  assert.ok(flow.file.endsWith('fe123456.log.gz'));
});

test('bad lines are reported with file and line number, counted and skipped; the run goes on', async (t) => {
  const d = tmp(t);
  const f = join(d, 'mixed.log');
  const good = fixture('alb-current-doc.log').trim();
  writeFileSync(f, `${good}\nhttp 2018-07-02T22:23:00Z app/x 1.2.3.4:5\n\n${good.replace('0.001', 'fast')}\n${good}\n`);
  const { recs, bad, summary } = await collect([f]);
  assert.deepEqual(recs.map((r) => r.line), [1, 5]);
  assert.deepEqual(bad, [
    { file: f, line: 2, reason: 'ALB access log entry has 4 fields, expected at least 13 (type through "request")' },
    { file: f, line: 4, reason: "field 7 (target_processing_time) is not a number: 'fast'" },
  ]);
  assert.equal(summary.badLines, 2);
  assert.equal(summary.files[0]!.lines, 5);
});

test('CRLF line endings and a last line without a terminator', async (t) => {
  const d = tmp(t);
  const f = join(d, 'crlf.log');
  writeFileSync(f, fixture('clb-doc.log').trim().split('\n').join('\r\n'));
  const { recs, bad } = await collect([f]);
  assert.deepEqual(bad, []);
  assert.equal(recs.length, 4);
  const last = recs[3]!;
  assert.equal(last.kind === 'clb' && last.sslProtocol, 'TLSv1.2'); // no stray \r
});

test('a truncated .gz: records before the damage kept, the damage reported with the line it stopped at', async (t) => {
  const d = tmp(t);
  const f = join(d, 'trunc.log.gz');
  const text = Array.from({ length: 200 }, () => fixture('alb-current-doc.log').trim()).join('\n') + '\n';
  const gz = gzipSync(text);
  writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const { recs, bad, summary } = await collect([f]);
  assert.ok(recs.length > 0 && recs.length < 200, `got ${recs.length}`);
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.line, recs.length + 1);
  assert.match(bad[0]!.reason, /^gzip stream ends early or is corrupt \(unexpected end of file\); stopped after line \d+/);
  assert.ok(summary.files[0]!.error !== null);
});

test('concatenated gzip members are read as one file', async (t) => {
  const d = tmp(t);
  const f = join(d, 'multi.log.gz');
  writeFileSync(f, Buffer.concat([gzipSync(fixture('flow-v2-doc.log')), gzipSync(fixture('flow-v2-doc.log'))]));
  const { recs, bad } = await collect([f]);
  assert.deepEqual(bad, []);
  assert.equal(recs.length, 14);
});

test('stdin (-), with the format forced', async () => {
  const stdin = Readable.from([Buffer.from(fixture('nlb-doc.log'))]);
  const { recs, summary } = await collect(['-'], { stdin, format: 'nlb' });
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.file, '-');
  assert.equal(summary.files[0]!.format, 'nlb');
});

test('gzip on stdin is detected by its magic bytes, even when they arrive one byte at a time', async () => {
  const gz = gzipSync(fixture('flow-v2-doc.log'));
  const stdin = Readable.from([...gz].map((b) => Buffer.from([b])));
  const { recs, summary } = await collect(['-'], { stdin });
  assert.equal(recs.length, 7);
  assert.equal(summary.files[0]!.gzip, true);
});

test('UTF-8 characters split across chunks decode intact', async () => {
  const line = fixture('alb-current-doc.log').trim().replace('curl/7.46.0', 'Mozilla/5.0 (Bücher; 日本; 😀)');
  const stdin = Readable.from([...Buffer.from(`${line}\n`)].map((b) => Buffer.from([b])));
  const { recs } = await collect(['-'], { stdin });
  assert.equal(recs.length, 1);
  const r = recs[0]!;
  assert.equal(r.kind === 'alb' && r.userAgent, 'Mozilla/5.0 (Bücher; 日本; 😀)');
});

test('flow logs without a header take --fields (implying the flow format); a header line later in the file takes over', async (t) => {
  const d = tmp(t);
  const f = join(d, 'custom.log');
  const v3 = fixture('flow-v3-tcp-flags-doc.log').split('\n');
  writeFileSync(f, `${v3.slice(1).join('\n')}${fixture('flow-v5-doc.log')}`);
  const { recs, bad } = await collect([f], { fields: v3[0]!.split(' ') });
  assert.deepEqual(bad, []);
  assert.equal(recs.length, 6);
  const last = recs[5]!;
  assert.equal(last.kind === 'flow' && last.trafficPath, 8); // parsed with the v5 header's fields
  const again = await collect([f], { format: 'flow', fields: v3[0]!.split(' ') });
  assert.equal(again.recs.length, 6);
});

test('concatenated flow-log files repeat their header: each header is used, none is a record', async (t) => {
  const d = tmp(t);
  const f = join(d, 'cat.log');
  writeFileSync(f, fixture('flow-v3-tcp-flags-doc.log') + fixture('flow-v5-doc.log'));
  const { recs, bad } = await collect([f]);
  assert.deepEqual(bad, []);
  assert.equal(recs.length, 6);
  const last = recs[5]!;
  assert.equal(last.kind === 'flow' && last.trafficPath, 8);
});

test('unrecognised lines before the first known one are reported; detection then proceeds', async (t) => {
  const d = tmp(t);
  const f = join(d, 'junk-first.log');
  writeFileSync(f, `hello world\n${fixture('clb-doc.log')}`);
  const { recs, bad } = await collect([f]);
  assert.equal(recs.length, 4);
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.line, 1);
  assert.match(bad[0]!.reason, /format not recognised/);
});

test('a line longer than the limit is reported and skipped', async (t) => {
  const d = tmp(t);
  const f = join(d, 'long.log');
  const good = fixture('alb-current-doc.log').trim();
  writeFileSync(f, `${good}\n${good.replace('curl/7.46.0', 'x'.repeat(5000))}\n${good}\n`);
  const { recs, bad } = await collect([f], { maxLineChars: 4096 });
  assert.deepEqual(recs.map((r) => r.line), [1, 3]);
  assert.deepEqual(bad, [{ file: f, line: 2, reason: 'line longer than 4096 characters' }]);
});

test('Parquet files get a clear message instead of garbage lines', async (t) => {
  const d = tmp(t);
  const f = join(d, 'x.parquet');
  writeFileSync(f, Buffer.from('PAR1\x00\x00binary'));
  const { bad } = await collect([f]);
  assert.equal(bad.length, 1);
  assert.match(bad[0]!.reason, /Parquet/);
});

test('a path that does not exist is a MirrorlensError naming it', async () => {
  await assert.rejects(readLogs(['/nonexistent/mirrorlens/x.log'], () => {}), (e) => isMirrorlensError(e) && e.code === 'ML_FILE_OPEN' && e.describe().startsWith('/nonexistent/mirrorlens/x.log'));
});

test('an empty file has no records and no bad lines', async (t) => {
  const d = tmp(t);
  const f = join(d, 'empty.log');
  writeFileSync(f, '');
  const { recs, bad, summary } = await collect([f]);
  assert.equal(recs.length, 0);
  assert.deepEqual(bad, []);
  assert.equal(summary.files[0]!.format, null);
});

test('the ELBAccessLogTestFile line is not a bad line when the file is named explicitly', async (t) => {
  const d = tmp(t);
  const f = join(d, 'ELBAccessLogTestFile');
  writeFileSync(f, 'Enable AccessLog for ELB: my-loadbalancer at 2018-07-02T22:20:00.000Z\n');
  const { recs, bad } = await collect([f]);
  assert.equal(recs.length, 0);
  assert.deepEqual(bad, []);
});

test('flow logs exported from CloudWatch Logs (a timestamp before each record) are read', async (t) => {
  const d = tmp(t);
  const f = join(d, '000000.gz');
  const body = fixture('flow-v2-doc.log')
    .split('\n')
    .filter(Boolean)
    .map((l) => `2015-05-10T17:41:16.000Z ${l}`)
    .join('\n');
  writeFileSync(f, gzipSync(body));
  const { recs, bad, summary } = await collect([f]);
  assert.deepEqual(bad, []);
  assert.equal(recs.length, 7);
  assert.equal(summary.files[0]!.format, 'flow');
  const r = recs[0]!;
  assert.equal(r.kind === 'flow' && r.interfaceId, 'eni-1235b8ca123456789');
  assert.equal(r.kind === 'flow' && r.version, 2);
});

test('a local file read through one reused buffer: lines across 64 KiB chunks, long and UTF-8 ones, intact (plain and gzip)', async (t) => {
  const d = tmp(t);
  const good = fixture('alb-current-doc.log').trim();
  // User agents of many lengths (some longer than a chunk, some with multi-byte characters), so
  // that lines end at every offset of the reused buffer and partial lines are carried over.
  const agents: string[] = [];
  let seed = 7;
  for (let i = 0; i < 400; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const len = i % 97 === 0 ? 70000 + (seed % 5000) : seed % 3000;
    agents.push((i % 5 === 0 ? 'é€' : 'ab') .repeat(len >> 1) + String(i));
  }
  const text = agents.map((a) => good.replace('curl/7.46.0', a)).join('\n') + '\n';
  const plain = join(d, 'many.log');
  const gz = join(d, 'many.log.gz');
  writeFileSync(plain, text);
  writeFileSync(gz, gzipSync(text));
  for (const f of [plain, gz]) {
    const { recs, bad, summary } = await collect([f]);
    assert.deepEqual(bad, [], f);
    assert.equal(recs.length, agents.length, f);
    assert.deepEqual(recs.map((r) => (r.kind === 'alb' ? r.userAgent : null)), agents, f);
    assert.equal(summary.files[0]!.bytes, f === plain ? Buffer.byteLength(text) : readFileSync(gz).length);
  }
});

test('a file that cannot be read is one bad line naming why, as before the local reader', async (t) => {
  const d = tmp(t);
  const f = join(d, 'secret.log');
  writeFileSync(f, `${fixture('alb-current-doc.log').trim()}\n`);
  chmodSync(f, 0);
  // (root reads any file: then it is simply read.)
  const { recs, bad, summary } = await collect([f]);
  if (process.getuid?.() === 0) assert.equal(recs.length, 1);
  else {
    assert.equal(recs.length, 0);
    assert.equal(bad.length, 1);
    assert.match(bad[0]!.reason, /^cannot read: /);
    assert.equal(summary.files[0]!.unreadable, true);
  }
});

test('onAlbFacts: lines taken from their facts count as records without one; the others come as records', async (t) => {
  const d = tmp(t);
  const f = join(d, 'alb.log');
  const good = fixture('alb-current-doc.log').trim();
  writeFileSync(f, `${good}\n${good.replace(' 200 200 ', ' 502 - ')}\n${good.replace('0.001', 'fast')}\n${good.replace('curl/7.46.0', 'a\\"b')}\n${good}\n`);
  const facts: [number, number | null, string][] = [];
  const recs: LogRecord[] = [];
  const bad: BadLine[] = [];
  const s = await readLogs([f], (r) => recs.push(r), {
    onBadLine: (b) => bad.push(b),
    onAlbFacts: (x) => {
      facts.push([x.lineNo, x.elbStatusCode, x.clientAddr]);
      return x.elbStatusCode === 200;
    },
  });
  // Line 2 is wanted in full (502); 3 is bad; 4 has a backslash (the scan leaves it to the parser).
  assert.deepEqual(facts, [[1, 200, '192.168.131.39'], [2, 502, '192.168.131.39'], [5, 200, '192.168.131.39']]);
  assert.deepEqual(recs.map((r) => r.line), [2, 4]);
  assert.deepEqual(bad.map((b) => b.line), [3]);
  assert.equal(s.records, 4);
});
