import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateFolderMeetsWindow, dayFolders, fileNameStamp, fileTimeRange, layoutPosition, partitionWindow, rangeMeetsWindow, skipKey } from './s3-layout.js';
import { awsError } from './aws-config.js';
import { parseS3Url } from './s3.js';
import { parseCwlUrl } from './cwl.js';

const t = (iso: string): number => Date.parse(iso) / 1000;

test('the time in an ALB file name is the end of its 5-minute interval', () => {
  const name = '123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz';
  assert.equal(fileNameStamp(name), t('2014-02-15T23:40:00Z'));
  const r = fileTimeRange(name)!;
  assert.ok(r.from <= t('2014-02-15T23:35:00Z') && r.to >= t('2014-02-15T23:40:00Z'));
  assert.ok(r.to - r.from <= 15 * 60, 'a 5-minute file plus slack, not more');
});

test('a Classic LB file (no app./net.) may cover 60 minutes; a connection log is an ALB file', () => {
  const clb = fileTimeRange('123456789012_elasticloadbalancing_us-east-1_my-clb_20140215T2340Z_10.0.0.1_abc.log')!;
  assert.ok(clb.from <= t('2014-02-15T22:40:00Z'));
  const conn = fileTimeRange('conn_log.123456789012_elasticloadbalancing_us-east-1_app.lb.0123_20140215T2340Z_10.0.0.1_x.log.gz')!;
  assert.ok(conn.from > t('2014-02-15T23:20:00Z'));
});

test('a flow-log file holds records ending 5 minutes either side of its stamp, starting up to 11 minutes earlier', () => {
  const r = fileTimeRange('123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz')!;
  assert.ok(r.from <= t('2018-06-20T15:59:00Z'));
  assert.ok(r.to >= t('2018-06-20T16:25:00Z'));
});

test('names without a stamp are always kept', () => {
  assert.equal(fileTimeRange('capture-000001.pcapng'), null);
  assert.equal(rangeMeetsWindow(null, { since: 0, until: 1 }), true);
});

test('open windows: only the given bound prunes', () => {
  const r = { from: 100, to: 200 };
  assert.equal(rangeMeetsWindow(r, { since: 150, until: Infinity }), true);
  assert.equal(rangeMeetsWindow(r, { since: 201, until: Infinity }), false);
  assert.equal(rangeMeetsWindow(r, { since: -Infinity, until: 99 }), false);
  assert.equal(rangeMeetsWindow(r, { since: -Infinity, until: Infinity }), true);
});

test('the position in the layout is read from the prefix, plain and Hive-compatible', () => {
  assert.equal(layoutPosition('logs/'), null);
  assert.deepEqual(layoutPosition('p/AWSLogs/'), { root: 'p/AWSLogs/', segments: [], next: 'account', hive: false, service: null });
  const elbDay = layoutPosition('AWSLogs/1/elasticloadbalancing/us-east-1/2024/05/01/')!;
  assert.equal(elbDay.next, 'files'); // ELB has no hour folders
  const flowDay = layoutPosition('AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=05/day=01/')!;
  assert.equal(flowDay.next, 'hour');
  assert.equal(flowDay.hive, true);
  assert.equal(flowDay.service, 'vpcflowlogs');
});

test('day folders for a closed window, widened by what a later file can hold', () => {
  const w = partitionWindow({ since: t('2024-02-28T23:50:00Z'), until: t('2024-02-29T00:10:00Z') });
  assert.deepEqual(dayFolders(w, false), ['2024/02/28/', '2024/02/29/']);
  assert.deepEqual(dayFolders(partitionWindow({ since: t('2024-03-01T12:00:00Z'), until: t('2024-03-01T12:10:00Z') }), true), ['year=2024/month=03/day=01/']);
  assert.equal(dayFolders({ since: 0, until: Infinity }, false), null);
  assert.equal(dayFolders({ since: 0, until: 365 * 86400 }, false), null, 'too many days: walk the folders instead');
});

test('date folders outside the window are skipped; folders that are not dates are kept', () => {
  const region = layoutPosition('AWSLogs/1/vpcflowlogs/us-east-1/')!;
  const w = { since: t('2024-05-01T00:00:00Z'), until: t('2024-05-02T00:00:00Z') };
  assert.equal(dateFolderMeetsWindow(region, 'year', '2024', w), true);
  assert.equal(dateFolderMeetsWindow(region, 'year', '2023', w), false);
  const month = layoutPosition('AWSLogs/1/vpcflowlogs/us-east-1/2024/')!;
  assert.equal(dateFolderMeetsWindow(month, 'month', '04', w), false);
  assert.equal(dateFolderMeetsWindow(month, 'month', 'misc', w), true);
  const day = layoutPosition('AWSLogs/1/vpcflowlogs/us-east-1/year=2024/month=05/day=01/')!;
  assert.equal(dateFolderMeetsWindow(day, 'hour', 'hour=23', w), true);
  assert.equal(dateFolderMeetsWindow(layoutPosition('AWSLogs/1/vpcflowlogs/us-east-1/2024/05/02/')!, 'hour', '01', w), false);
});

test('folder markers, dot-files and the ELB test file are not inputs', () => {
  assert.equal(skipKey('AWSLogs/'), true);
  assert.equal(skipKey('AWSLogs/1/ELBAccessLogTestFile'), true);
  assert.equal(skipKey('x/.DS_Store'), true);
  assert.equal(skipKey('x/a.log.gz'), false);
});

test('S3 and CloudWatch Logs URLs', () => {
  assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', key: '' });
  assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), { bucket: 'my-bucket', key: 'a/b/' });
  assert.throws(() => parseS3Url('s3://ab/'), /not a valid bucket name/);
  assert.throws(() => parseS3Url('s3://bad bucket/'), /not a valid bucket name/);
  assert.deepEqual(parseCwlUrl('cwl:///aws/vpc/flow-logs'), { group: '/aws/vpc/flow-logs', streamPrefix: undefined });
  assert.deepEqual(parseCwlUrl('cwl://flow?stream=eni-0abc'), { group: 'flow', streamPrefix: 'eni-0abc' });
  assert.throws(() => parseCwlUrl('cwl://flow?region=x'), /only \?stream=PREFIX/);
  assert.throws(() => parseCwlUrl('cwl://'), /not a CloudWatch Logs URL/);
});

test('AWS errors become one line naming what failed', () => {
  const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  assert.equal(awsError(denied, 's3://b/k', 'GetObject (s3:GetObject)').describe(), 's3://b/k: access denied (AccessDenied): the credentials in use may not call GetObject (s3:GetObject)');
  const ec2 = Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } });
  assert.match(awsError(ec2, 'eni-1', 'CreateTrafficMirrorSession').describe(), /access denied \(UnauthorizedOperation\)/);
  const sig = Object.assign(new Error('The request signature we calculated does not match'), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
  assert.match(awsError(sig, 's3://b/', 'ListObjectsV2').describe(), /secret access key does not match/);
  const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' });
  assert.match(awsError(expired, 's3://b/', 'ListObjectsV2').describe(), /credentials have expired/);
  const other = Object.assign(new Error('Rate exceeded\nsecond line'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  assert.equal(awsError(other, 'cwl://g', 'FilterLogEvents').describe(), 'cwl://g: FilterLogEvents failed: ThrottlingException: Rate exceeded (HTTP 400)');
});
