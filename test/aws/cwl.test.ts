// VPC flow logs from CloudWatch Logs (cwl://GROUP) through the real SDK against a local endpoint
// speaking CloudWatch Logs' JSON protocol; the request members are checked against the model the
// SDK ships (@aws-sdk/client-cloudwatch-logs), events are paged with nextToken, and the record
// format comes from EC2 DescribeFlowLogs (the local EC2 endpoint of fake-aws.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readLogs, type LogRecord } from '../../src/logs/read.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

const FORMAT = '${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags}';
const T0 = Date.UTC(2026, 10, 25, 12, 0) / 1000;

let ec2: FakeAws;
let server: http.Server;
let endpoint = '';
const calls: Record<string, unknown>[] = [];
let allowed: string[] = [];

before(async () => {
  const model = (await import(pathToFileURL(join(import.meta.dirname, '../../node_modules/@aws-sdk/client-cloudwatch-logs/dist-es/schemas/schemas_0.js')).href)) as Record<string, unknown[]>;
  allowed = model['FilterLogEventsRequest$']![4] as string[];
  ec2 = await startFakeAws({ enis: [], instances: [], securityGroups: [], loadBalancers: [], listeners: {}, targetHealth: {}, flowLogs: [{ FlowLogId: 'fl-0123456789abcdef0', LogGroupName: '/vpc/flow', LogFormat: FORMAT }] });
  // 250 events over 25 minutes, 100 a page.
  const events = Array.from({ length: 250 }, (_, i) => {
    const end = T0 + i * 6;
    return { logStreamName: 'eni-0a1b2c3d4e5f60001-all', timestamp: end * 1000, ingestionTime: end * 1000 + 300000, eventId: String(i), message: `5 eni-0a1b2c3d4e5f60001 10.0.1.5 10.0.2.20 ${40000 + i} 443 6 10 840 ${end - 50} ${end} ${i === 7 ? 'REJECT' : 'ACCEPT'} OK 2` };
  });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const p = JSON.parse(body) as Record<string, unknown>;
      calls.push({ target, ...p });
      const unknown = Object.keys(p).filter((k) => !allowed.includes(k));
      if (target !== 'Logs_20140328.FilterLogEvents' || unknown.length > 0 || p.logGroupName !== '/vpc/flow') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'InvalidParameterException', message: `bad request ${String(target)} ${unknown.join(',')}` }));
        return;
      }
      const inWin = events.filter((e) => e.timestamp >= (p.startTime as number) && e.timestamp <= (p.endTime as number) && e.logStreamName.startsWith((p.logStreamNamePrefix as string | undefined) ?? ''));
      const start = p.nextToken ? Number(p.nextToken) : 0;
      const page = inWin.slice(start, start + 100);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ events: page, ...(start + 100 < inWin.length ? { nextToken: String(start + 100) } : {}) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, ec2.env);
});

after(async () => {
  await ec2.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

test('flow logs from a CloudWatch Logs group: the window, the pages and the custom format', async () => {
  const env = { ...ec2.env, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint };
  const recs: LogRecord[] = [];
  const since = T0 + 60;
  const s = await readLogs(['cwl:///vpc/flow?stream=eni-0a1b2c3d4e5f60001'], (r) => recs.push(r), { env, format: 'flow', window: { since, until: since + 600 } });
  assert.equal(s.badLines, 0);
  assert.equal(s.records, 101); // events ending every 6 s from 12:01:00 to 12:11:00
  const first = calls[0]!;
  assert.equal(first.startTime, since * 1000);
  assert.equal(first.endTime, (since + 600) * 1000);
  assert.equal(first.logStreamNamePrefix, 'eni-0a1b2c3d4e5f60001');
  assert.equal(calls.length, 2, 'two pages');
  const r = recs[0]!;
  assert.equal(r.kind, 'flow');
  if (r.kind === 'flow') {
    assert.equal(r.interfaceId, 'eni-0a1b2c3d4e5f60001');
    assert.equal(r.file, 'cwl:///vpc/flow?stream=eni-0a1b2c3d4e5f60001');
  }
  assert.deepEqual(s.listings[0] && { requests: s.listings[0].requests, events: s.listings[0].objectsSelected }, { requests: 2, events: 101 });
  assert.ok(ec2.requests.some((x) => x.action === 'DescribeFlowLogs'), 'the format was asked of EC2');
});

test('a cwl:// input without a window is one clear usage error', async () => {
  await assert.rejects(readLogs(['cwl:///vpc/flow'], () => undefined, { env: { ...ec2.env, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint } }), /needs a time window/);
});
