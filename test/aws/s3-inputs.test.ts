// S3 inputs through the real AWS SDK against a real S3-compatible server (s3rver, started here on a
// free loopback port), with AWS's key layout, gzip files, more than 1000 keys (pagination), and a
// time window that must list only the partitions that can hold it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expandLogPaths, readLogs, type LogRecord } from '../../src/logs/read.js';
import { forgetS3Clients } from '../../src/capture/sources/s3.js';
import { expandCaptureInputs } from '../../src/capture/inputs.js';
import { analyze } from '../../src/analyze/analyze.js';
import { startS3Server, TEST_KEY, type S3TestServer } from './s3-server.js';

const fixtures = join(import.meta.dirname, '../fixtures/aws-logs');
const EXAMPLE = join(import.meta.dirname, '../../examples/idle-reset');
const ALB = readFileSync(join(fixtures, 'alb-current-doc.log'), 'utf8').trim();
const FLOW_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

const ACCOUNT = '123456789012';
const ELB_ROOT = `prod/AWSLogs/${ACCOUNT}/elasticloadbalancing/us-east-1/`;
const FLOW_ROOT = `AWSLogs/aws-account-id=${ACCOUNT}/aws-service=vpcflowlogs/aws-region=us-east-1/`;
const DAY = 86400;
const FIRST_DAY = Date.UTC(2026, 10, 23) / 1000; // 4 days of ALB files: 23-26 Nov 2026
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function stamp(t: number): string {
  const d = new Date(t * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}
function dayPath(t: number, hive: boolean): string {
  const d = new Date(t * 1000);
  const [y, m, dd] = [String(d.getUTCFullYear()), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
  return hive ? `year=${y}/month=${m}/day=${dd}/` : `${y}/${m}/${dd}/`;
}
function iso(t: number): string {
  return new Date(t * 1000).toISOString().replace('.000Z', '.186641Z');
}

/** Key → gzip body: one ALB line per 5-minute file (time 1 minute before the file's end). */
function albObjects(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let end = FIRST_DAY + 300; end <= FIRST_DAY + 4 * DAY; end += 300) {
    const name = `${ACCOUNT}_elasticloadbalancing_us-east-1_app.my-loadbalancer.50dc6c495c0c9188_${stamp(end)}_10.0.1.5_${(end % 99991).toString(36)}.log.gz`;
    const line = ALB.replace('2018-07-02T22:23:00.186641Z', iso(end - 60));
    out.set(ELB_ROOT + dayPath(end, false) + name, gzipSync(line + '\n'));
  }
  return out;
}

/** Flow logs for 25 Nov, Hive-compatible and per-hour partitions, one file per 5 minutes. */
function flowObjects(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const day = FIRST_DAY + 2 * DAY;
  for (let t = day; t < day + DAY; t += 300) {
    const h = new Date(t * 1000).getUTCHours();
    const key = `${FLOW_ROOT}${dayPath(t, true)}hour=${pad(h)}/${ACCOUNT}_vpcflowlogs_us-east-1_fl-0123abcd_${stamp(t)}_${(t % 65521).toString(16)}.log.gz`;
    const rec = `2 ${ACCOUNT} eni-0123456789abcdef0 10.0.0.5 10.0.1.20 40000 443 6 10 840 ${t - 60} ${t} ACCEPT OK`;
    out.set(key, gzipSync(`${FLOW_HEADER}\n${rec}\n`));
  }
  return out;
}

let server: S3TestServer;
let albKeys: string[];

async function putAll(client: S3Client, bucket: string, objects: Map<string, Buffer>): Promise<void> {
  const entries = [...objects];
  for (let i = 0; i < entries.length; i += 24) {
    await Promise.all(entries.slice(i, i + 24).map(([Key, Body]) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }))));
  }
}

before(async () => {
  server = await startS3Server();
  Object.assign(process.env, server.env);
  const client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: TEST_KEY });
  for (const b of ['alb-logs', 'flow-logs', 'caps']) await client.send(new CreateBucketCommand({ Bucket: b }));
  await client.send(new PutObjectCommand({ Bucket: 'caps', Key: 'listen/mirrorlens-20261125T210640.000Z.pcapng.gz', Body: gzipSync(readFileSync(join(EXAMPLE, 'idle-reset.pcapng'))) }));
  await client.send(new PutObjectCommand({ Bucket: 'caps', Key: 'listen/README.txt', Body: 'not a capture' }));
  await client.send(new PutObjectCommand({ Bucket: 'caps', Key: 'alb/alb-access.log', Body: readFileSync(join(EXAMPLE, 'alb-access.log')) }));
  const alb = albObjects();
  albKeys = [...alb.keys()].sort();
  await putAll(client, 'alb-logs', alb);
  await client.send(new PutObjectCommand({ Bucket: 'alb-logs', Key: `prod/AWSLogs/${ACCOUNT}/ELBAccessLogTestFile`, Body: 'Enable AccessLog for ELB: my-loadbalancer at 2026-11-23T00:00:00.000Z' }));
  await putAll(client, 'flow-logs', flowObjects());
  client.destroy();
});

after(async () => {
  forgetS3Clients();
  await server.stop();
});

/** The prefixes of the ListObjectsV2 requests recorded since `from`. */
function listedPrefixes(from: number): string[] {
  return server.requests
    .slice(from)
    .filter((r) => r.method === 'GET' && r.url.includes('list-type=2'))
    .map((r) => new URL(r.url, 'http://x').searchParams.get('prefix') ?? '');
}
function gotKeys(from: number, bucket: string): string[] {
  return server.requests
    .slice(from)
    .filter((r) => r.method === 'GET' && r.url.startsWith(`/${bucket}/`) && !r.url.includes('list-type'))
    .map((r) => decodeURIComponent(new URL(r.url, 'http://x').pathname.slice(bucket.length + 2)))
    .sort(); // objects are fetched a few at a time, so requests arrive in any order
}

test('without a window, every object under the prefix is listed, through more than one page of 1000 keys', async () => {
  assert.equal(albKeys.length, 1152);
  const from = server.requests.length;
  const names = await expandLogPaths(['s3://alb-logs/prod/']);
  assert.deepEqual(names, albKeys.map((k) => `s3://alb-logs/${k}`)); // ELBAccessLogTestFile skipped
  const lists = server.requests.slice(from).filter((r) => r.url.includes('list-type=2'));
  assert.equal(lists.length, 2, 'two pages');
  assert.match(lists[1]!.url, /continuation-token=/);
});

test('a window of ten minutes lists one day folder and reads only the 5-minute files that can hold it', async () => {
  const since = Date.UTC(2026, 10, 25, 12, 0) / 1000;
  const from = server.requests.length;
  const records: LogRecord[] = [];
  const summary = await readLogs(['s3://alb-logs/prod/'], (r) => records.push(r), { window: { since, until: since + 600 } });
  const prefixes = listedPrefixes(from);
  const dayLevel = prefixes.filter((p) => /\/\d{4}\/\d{2}\/\d{2}\/$/.test(p));
  assert.deepEqual(dayLevel, [`${ELB_ROOT}2026/11/25/`]);
  assert.ok(!prefixes.some((p) => p === ELB_ROOT), 'the year folders are not listed when the days can be named');
  assert.ok(prefixes.length <= 6, `few listings: ${prefixes.join(', ')}`);
  // Files ending 11:55 ... 12:20 can hold a record of 12:00-12:10 (with five minutes of slack).
  const got = gotKeys(from, 'alb-logs').map((k) => /_(\d{8}T\d{4}Z)_/.exec(k)![1]);
  assert.deepEqual(got, ['20261125T1155Z', '20261125T1200Z', '20261125T1205Z', '20261125T1210Z', '20261125T1215Z', '20261125T1220Z']);
  assert.equal(summary.records, 6);
  assert.equal(records[0]!.kind, 'alb');
  assert.equal(summary.listings.length, 1);
  const l = summary.listings[0]!;
  assert.equal(l.pruned, true);
  assert.equal(l.objectsSelected, 6);
  assert.equal(l.objectsListed, 289); // the day's 288 files and ELBAccessLogTestFile, seen at the account level
  assert.deepEqual(l.partitions, [`${ELB_ROOT}2026/11/25/`]);
  assert.equal(summary.bytes, l.bytesSelected, 'bytes read = stored (gzip) bytes of the objects read');
  assert.ok(summary.files.every((f) => f.gzip && f.file.startsWith('s3://alb-logs/')));
});

test('a window across midnight lists the two day folders it touches and no other', async () => {
  const since = Date.UTC(2026, 10, 24, 23, 58) / 1000;
  const from = server.requests.length;
  const summary = await readLogs(['s3://alb-logs/prod/AWSLogs/'], () => undefined, { window: { since, until: since + 300 } });
  const dayLevel = listedPrefixes(from).filter((p) => /\/\d{4}\/\d{2}\/\d{2}\/$/.test(p));
  assert.deepEqual(dayLevel, [`${ELB_ROOT}2026/11/24/`, `${ELB_ROOT}2026/11/25/`]);
  assert.equal(summary.records, 4); // files ending 23:55, 00:00, 00:05, 00:10
});

test('flow logs in Hive-compatible, per-hour partitions: only the hours that can hold the window are listed', async () => {
  const since = Date.UTC(2026, 10, 25, 12, 0) / 1000;
  const from = server.requests.length;
  const summary = await readLogs(['s3://flow-logs/'], () => undefined, { window: { since, until: since + 600 }, format: 'flow' });
  const prefixes = listedPrefixes(from);
  const hours = prefixes.filter((p) => /hour=\d\d\/$/.test(p)).map((p) => /hour=(\d\d)/.exec(p)![1]);
  assert.deepEqual(hours, ['11', '12', '13']);
  assert.ok(prefixes.includes(`${FLOW_ROOT}year=2026/month=11/day=25/`));
  assert.ok(!prefixes.some((p) => /day=2[46]/.test(p)));
  // Files stamped 11:50 ... 12:30 may hold records ending in the window, or starting in it.
  const stamps = gotKeys(from, 'flow-logs').map((k) => /_(\d{8}T\d{4}Z)_/.exec(k)![1]);
  assert.equal(stamps[0], '20261125T1150Z');
  assert.equal(stamps[stamps.length - 1], '20261125T1230Z');
  assert.equal(stamps.length, 9);
  assert.equal(summary.records, stamps.length);
  assert.equal(summary.badLines, 0);
});

test('an exact object key is read alone, and a folder given without its slash is a folder', async () => {
  const one = albKeys[100]!;
  const s1 = await readLogs([`s3://alb-logs/${one}`], () => undefined);
  assert.equal(s1.files.length, 1);
  assert.equal(s1.records, 1);
  const names = await expandLogPaths([`s3://alb-logs/${ELB_ROOT}2026/11/23`]);
  assert.equal(names.length, 287); // files ending 00:05 ... 23:55 (the one ending at 00:00 is the 24th's)
});

test('captures straight from S3: the capture files under a prefix, streamed and gunzipped, give the same verdict as the local files', async () => {
  const names = await expandCaptureInputs(['s3://caps/listen/']);
  assert.deepEqual(names, ['s3://caps/listen/mirrorlens-20261125T210640.000Z.pcapng.gz']);
  const keylogs = [join(EXAMPLE, 'keys.log')];
  const remote = await analyze({ captures: names, keylogs, albLogs: ['s3://caps/alb/'] });
  const local = await analyze({ captures: [join(EXAMPLE, 'idle-reset.pcapng')], keylogs, albLogs: [join(EXAMPLE, 'alb-access.log')] });
  assert.ok(remote.report.findings.length > 0);
  assert.deepEqual(
    remote.report.findings.map((f) => [f.kind, f.request?.path]),
    local.report.findings.map((f) => [f.kind, f.request?.path]),
  );
});
