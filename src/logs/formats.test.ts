// ALB connection logs, NLB and Classic LB access logs, VPC flow logs: the AWS documentation
// examples (test/fixtures/aws-logs) and hand-made edge cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlbConnectionLine, type AlbConnectionLogRecord } from './alb-conn.js';
import { parseNlbLine, type NlbLogRecord } from './nlb.js';
import { parseClbLine, type ClbLogRecord } from './clb.js';
import { compileFlowFormat, DEFAULT_FLOW_FIELDS, parseFlowLine, tcpFlagNames, type FlowLogRecord } from './flow.js';
import type { LineError } from './types.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/aws-logs');
const lines = (name: string): string[] => readFileSync(join(fixtures, name), 'utf8').split('\n').filter((l) => l.length > 0);

function okOf<T>(r: T | LineError): T {
  if ((r as { kind: string }).kind === 'error') assert.fail(`unexpected error: ${(r as LineError).reason}`);
  return r as T;
}

test('ALB connection log: both AWS examples', () => {
  const [a, b] = lines('alb-conn-doc.log').map((l) => okOf<AlbConnectionLogRecord>(parseAlbConnectionLine(l)));
  assert.deepEqual(a, {
    kind: 'alb-conn',
    time: Date.UTC(2023, 9, 4, 17, 5, 15) / 1000 + 0.514108,
    timeString: '2023-10-04T17:05:15.514108Z',
    clientAddr: '203.0.113.1',
    clientPort: 36280,
    listenerPort: 443,
    tlsProtocol: 'TLSv1.2',
    tlsCipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    tlsHandshakeSeconds: 4.036,
    leafClientCertSubject: 'CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US',
    leafClientCertValidity: 'NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z',
    leafClientCertNotBefore: Date.UTC(2023, 8, 21, 22, 43, 21) / 1000,
    leafClientCertNotAfter: Date.UTC(2026, 5, 17, 22, 43, 21) / 1000,
    leafClientCertSerialNumber: 'FEF257372D5C14D4',
    tlsVerifyStatus: 'Success',
    tlsVerifyError: null,
    connTraceId: 'TID_3180a73013c8ca4bac2f731159d4b0fe',
    tlsKeyExchange: null,
    elb: null,
    lbNodeAddr: null,
    extra: [],
    fieldCount: 12,
    file: '',
    line: 0,
  });
  assert.equal(b!.tlsHandshakeSeconds, null);
  assert.equal(b!.tlsVerifyStatus, 'Failed:ClientCertUntrusted');
  assert.equal(b!.tlsVerifyError, 'ClientCertUntrusted');
});

test('ALB connection log: the newer trailing fields and anything after them', () => {
  const line = `${lines('alb-conn-doc.log')[0]} X25519MLKEM768 app/my-lb/50dc6c495c0c9188 10.0.1.17 future`;
  const r = okOf<AlbConnectionLogRecord>(parseAlbConnectionLine(line));
  assert.equal(r.tlsKeyExchange, 'X25519MLKEM768');
  assert.equal(r.elb, 'app/my-lb/50dc6c495c0c9188');
  assert.equal(r.lbNodeAddr, '10.0.1.17');
  assert.deepEqual(r.extra, ['future']);
  const bad = parseAlbConnectionLine('2023-10-04T17:05:15.514108Z 203.0.113.1 port 443 - - - "-" - - - -');
  assert.match((bad as LineError).reason, /field 3 \(client_port\)/);
});

test('NLB access log: both AWS examples', () => {
  const [a, b] = lines('nlb-doc.log').map((l) => okOf<NlbLogRecord>(parseNlbLine(l)));
  assert.deepEqual(a, {
    kind: 'nlb',
    type: 'tls',
    version: '2.0',
    time: Date.UTC(2018, 11, 20, 2, 59, 40) / 1000,
    timeString: '2018-12-20T02:59:40',
    elb: 'net/my-network-loadbalancer/c6e77e28c25b2234',
    listener: 'g3d4b5e8bb8464cd',
    clientAddr: '72.21.218.154',
    clientPort: 51341,
    destinationAddr: '172.100.100.185',
    destinationPort: 443,
    connectionMilliseconds: 5,
    tlsHandshakeMilliseconds: 2,
    receivedBytes: 98,
    sentBytes: 246,
    incomingTlsAlert: null,
    incomingTlsAlertName: null,
    chosenCertArn: 'arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99',
    chosenCertSerial: null,
    tlsCipher: 'ECDHE-RSA-AES128-SHA',
    tlsProtocolVersion: 'tlsv12',
    tlsNamedGroup: null,
    domainName: 'my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com',
    alpnFeProtocol: null,
    alpnBeProtocol: null,
    alpnClientPreferenceList: [],
    tlsConnectionCreationTime: null,
    tlsConnectionCreationTimeString: null,
    extra: [],
    fieldCount: 21,
    file: '',
    line: 0,
  });
  assert.equal(b!.alpnFeProtocol, 'h2');
  assert.equal(b!.alpnBeProtocol, 'h2');
  assert.deepEqual(b!.alpnClientPreferenceList, ['h2', 'http/1.1']);
});

test('NLB access log: TLS alert, creation time and a failed handshake', () => {
  const line = 'tls 2.0 2024-01-01T00:00:05 net/nlb/1 l1 [2001:db8::7]:40000 10.0.0.5:443 12 - 0 7 48 - - - - - - - - - 2024-01-01T00:00:04';
  const r = okOf<NlbLogRecord>(parseNlbLine(line));
  assert.equal(r.clientAddr, '2001:db8::7');
  assert.equal(r.tlsHandshakeMilliseconds, null);
  assert.equal(r.incomingTlsAlert, 48);
  assert.equal(r.incomingTlsAlertName, 'unknown_ca');
  assert.equal(r.tlsCipher, null);
  assert.equal(r.tlsConnectionCreationTime, Date.UTC(2024, 0, 1, 0, 0, 4) / 1000);
  assert.match((parseNlbLine(line.replace(' 12 ', ' 12ms ')) as LineError).reason, /field 8 \(connection_time\)/);
});

test('Classic LB access log: the four AWS examples (HTTP, HTTPS, TCP, SSL listeners)', () => {
  const recs = lines('clb-doc.log').map((l) => okOf<ClbLogRecord>(parseClbLine(l)));
  assert.equal(recs.length, 4);
  const [http, https, tcp, ssl] = recs as [ClbLogRecord, ClbLogRecord, ClbLogRecord, ClbLogRecord];
  assert.equal(http.elb, 'my-loadbalancer');
  assert.equal(http.requestProcessingSeconds, 0.000073);
  assert.equal(http.backendProcessingSeconds, 0.001048);
  assert.equal(http.elbStatusCode, 200);
  assert.equal(http.backendStatusCode, 200);
  assert.equal(http.host, 'www.example.com');
  assert.equal(http.sslCipher, null);
  assert.equal(https.sslCipher, 'DHE-RSA-AES128-SHA');
  assert.equal(https.sslProtocol, 'TLSv1.2');
  assert.equal(tcp.elbStatusCode, null);
  assert.equal(tcp.backendStatusCode, null);
  assert.deepEqual(tcp.request, { method: null, url: null, protocol: null, raw: '- - - ' });
  assert.equal(tcp.userAgent, null);
  assert.equal(ssl.sentBytes, 502);
  assert.equal(ssl.sslCipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
});

test('Classic LB: instance closed before responding (- backend, -1 times)', () => {
  const r = okOf<ClbLogRecord>(parseClbLine('2015-05-13T23:39:43.945958Z my-lb 192.168.131.39:2817 - -1 -1 -1 504 0 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'));
  assert.equal(r.backendAddr, null);
  assert.equal(r.requestProcessingSeconds, null);
  assert.equal(r.elbStatusCode, 504);
  assert.equal(r.backendStatusCode, 0);
});

test('VPC flow log, default format: the seven AWS examples incl. NODATA, SKIPDATA and IPv6', () => {
  const recs = lines('flow-v2-doc.log').map((l) => okOf<FlowLogRecord>(parseFlowLine(l)));
  assert.equal(recs.length, 7);
  const first = recs[0]!;
  assert.equal(first.version, 2);
  assert.equal(first.accountId, '123456789010');
  assert.equal(first.interfaceId, 'eni-1235b8ca123456789');
  assert.equal(first.srcaddr, '172.31.16.139');
  assert.equal(first.dstport, 22);
  assert.equal(first.protocol, 6);
  assert.equal(first.protocolName, 'tcp');
  assert.equal(first.packets, 20);
  assert.equal(first.bytes, 4249);
  assert.equal(first.start, 1418530010);
  assert.equal(first.end, 1418530070);
  assert.equal(first.action, 'ACCEPT');
  assert.equal(first.logStatus, 'OK');
  assert.equal(recs[1]!.action, 'REJECT');
  const nodata = recs[2]!;
  assert.equal(nodata.logStatus, 'NODATA');
  assert.equal(nodata.srcaddr, null);
  assert.equal(nodata.packets, null);
  assert.equal(nodata.action, null);
  assert.equal(recs[3]!.logStatus, 'SKIPDATA');
  assert.equal(recs[4]!.protocolName, 'icmp');
  assert.equal(recs[6]!.srcaddr, '2001:db8:1234:a100:8d6e:3477:df66:f105');
  assert.deepEqual(DEFAULT_FLOW_FIELDS, ['version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status']);
});

test('VPC flow log, custom v3 format: tcp-flags decoded (the AWS TCP-flag sequence, with its doubled space)', () => {
  const [header, ...rest] = lines('flow-v3-tcp-flags-doc.log');
  const fmt = compileFlowFormat(header!.split(' '));
  assert.equal(fmt.version, 3);
  const recs = rest.map((l) => okOf<FlowLogRecord>(parseFlowLine(l, fmt)));
  assert.deepEqual(recs.map((r) => r.tcpFlags), [2, 18, 3, 19]);
  assert.deepEqual(recs.map((r) => r.tcpFlagNames), [['SYN'], ['SYN', 'ACK'], ['FIN', 'SYN'], ['FIN', 'SYN', 'ACK']]);
  assert.equal(recs[0]!.vpcId, 'vpc-abcdefab012345678');
  assert.equal(recs[0]!.subnetId, 'subnet-aaaaaaaa012345678');
  assert.equal(recs[0]!.instanceId, 'i-01234567890123456');
  assert.equal(recs[0]!.type, 'IPv4');
  assert.equal(recs[0]!.pktSrcaddr, '52.213.180.42');
  assert.equal(recs[3]!.srcport, 5001);
  assert.equal(recs[3]!.pktDstaddr, '52.213.180.42');
  assert.equal(recs[3]!.fieldCount, 21);
});

test('VPC flow log, custom v5 format: AWS service, traffic path, flow direction', () => {
  const [header, ...rest] = lines('flow-v5-doc.log');
  const fmt = compileFlowFormat(header!.split(' '));
  assert.equal(fmt.version, 5);
  const [ingress, egress] = rest.map((l) => okOf<FlowLogRecord>(parseFlowLine(l, fmt)));
  assert.equal(ingress!.pktSrcAwsService, 'S3');
  assert.equal(ingress!.flowDirection, 'ingress');
  assert.equal(ingress!.trafficPath, null);
  assert.equal(ingress!.region, 'ap-southeast-2');
  assert.equal(ingress!.azId, 'apse2-az3');
  assert.equal(ingress!.sublocationType, null);
  assert.equal(egress!.pktDstAwsService, 'S3');
  assert.equal(egress!.trafficPath, 8);
  assert.equal(egress!.trafficPathName, 'through an internet gateway (Nitro)');
  assert.equal(egress!.flowDirection, 'egress');
});

test('VPC flow log: NAT gateway example (pkt-* addresses differ from srcaddr/dstaddr)', () => {
  const [header, ...rest] = lines('flow-nat-gateway-doc.log');
  const fmt = compileFlowFormat(header!.split(' '));
  const recs = rest.map((l) => okOf<FlowLogRecord>(parseFlowLine(l, fmt)));
  assert.equal(recs[0]!.instanceId, null);
  assert.equal(recs[0]!.dstaddr, '10.0.0.220');
  assert.equal(recs[0]!.pktDstaddr, '203.0.113.5');
});

test('VPC flow log: v7 ECS and v8 reject-reason fields, ${} names, unknown fields kept by name', () => {
  const fmt = compileFlowFormat(['${version}', '${ecs-cluster-name}', '${ecs-task-id}', '${action}', '${reject-reason}', '${encryption-status}']);
  assert.equal(fmt.version, 8);
  const r = okOf<FlowLogRecord>(parseFlowLine('8 prod 0123abcd REJECT BPA 1 surplus', fmt));
  assert.equal(r.ecsClusterName, 'prod');
  assert.equal(r.ecsTaskId, '0123abcd');
  assert.equal(r.rejectReason, 'BPA');
  assert.deepEqual(r.extra, { 'encryption-status': '1', field7: 'surplus' });
});

test('VPC flow log: too few fields or a non-number are bad lines', () => {
  assert.match((parseFlowLine('2 123 eni-1 1.1.1.1') as LineError).reason, /4 fields, the format names 14/);
  assert.match((parseFlowLine('2 123456789010 eni-1 1.1.1.1 2.2.2.2 http 22 6 20 4249 1418530010 1418530070 ACCEPT OK') as LineError).reason, /field 6 \(srcport\).*'http'/);
});

test('tcpFlagNames decodes every bit', () => {
  assert.deepEqual(tcpFlagNames(0), []);
  assert.deepEqual(tcpFlagNames(4), ['RST']);
  assert.deepEqual(tcpFlagNames(255), ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']);
  assert.deepEqual(tcpFlagNames(null), []);
});
