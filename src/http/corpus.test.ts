// Differential tests on real captures (test/fixtures/http, provenance in test/fixtures/README.md):
// the whole pipeline (capture → flow → http) against tshark's http.request.method/uri,
// http.response.code, http2.headers.method/path/status on the same files, as stored in
// <capture>.tshark.txt (tshark takes ~3 s to start, so the live check runs on one capture only and
// confirms the stored outputs are what tshark says). Where mirrorlens and tshark differ on purpose,
// the difference is written down below with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { processCaptures } from '../flow/pipeline.js';
import { createHttpSink } from './session.js';
import type { HttpTransaction } from './transaction.js';

const dir = join(import.meta.dirname, '../../test/fixtures/http');
const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

async function transactions(file: string): Promise<HttpTransaction[]> {
  const out: HttpTransaction[] = [];
  await processCaptures([join(dir, file)], { onConnectionStart: (c) => createHttpSink(c, { alpn: null, tls: false }, (t) => out.push(t)) });
  return out;
}

interface Facts {
  requests: string[];
  statuses: string[];
}

function ours(txs: HttpTransaction[]): Facts {
  const requests: string[] = [];
  const statuses: string[] = [];
  for (const t of txs) {
    if (t.method !== null) requests.push(`${t.method} ${t.path}`);
    for (const s of t.interimStatuses) statuses.push(String(s));
    if (t.status !== null) statuses.push(String(t.status));
  }
  return { requests: requests.sort(), statuses: statuses.sort() };
}

/** tshark's view: live (`live`, when installed), else the stored reference output. */
function tshark(file: string, decodeAs: string[], live = false): Facts {
  const requests: string[] = [];
  const statuses: string[] = [];
  const add = (methods: string, uris: string, codes: string): void => {
    const ms = methods ? methods.split(',') : [];
    const us = uris ? uris.split(',') : [];
    ms.forEach((m, i) => requests.push(`${m} ${us[i]}`));
    if (codes) statuses.push(...codes.split(','));
  };
  if (live) {
    const base = ['-r', join(dir, file), ...decodeAs.flatMap((d) => ['-d', d]), '-T', 'fields'];
    const h1 = spawnSync('tshark', [...base, '-Y', 'http', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'], { encoding: 'utf8' });
    const h2 = spawnSync('tshark', [...base, '-Y', 'http2.type==1', '-e', 'http2.headers.method', '-e', 'http2.headers.path', '-e', 'http2.headers.status'], { encoding: 'utf8' });
    for (const l of h1.stdout.split('\n')) if (l.trim()) add(...(l.split('\t') as [string, string, string]));
    for (const l of h2.stdout.split('\n')) if (l.trim()) add(...(l.split('\t') as [string, string, string]));
  } else {
    let section = 0;
    for (const line of readFileSync(join(dir, `${file}.tshark.txt`), 'utf8').split('\n')) {
      if (line.startsWith('# $')) section++;
      if (line.startsWith('#') || !line.trim()) continue;
      const c = line.split('\t');
      if (section === 1) add(c[1] ?? '', c[2] ?? '', c[3] ?? '');
      else add(c[2] ?? '', c[3] ?? '', c[4] ?? '');
    }
  }
  return { requests: requests.sort(), statuses: statuses.sort() };
}

interface Case {
  file: string;
  decodeAs?: string[];
  /** Known, explained differences: what mirrorlens reports instead of tshark. */
  differs?: { why: string; requests?: string[]; statuses?: string[] };
  check?: (txs: HttpTransaction[]) => void;
}

const one = (txs: HttpTransaction[]): HttpTransaction => {
  assert.equal(txs.length, 1);
  return txs[0]!;
};

const CASES: Case[] = [
  {
    file: 'arkime_http-100-continue.pcap',
    check: (txs) => {
      const t = one(txs);
      assert.deepEqual(t.interimStatuses, [100]);
      assert.equal(t.outcome, 'complete');
    },
  },
  {
    file: 'arkime_http-post-upload.pcap',
    check: (txs) => {
      assert.deepEqual(txs.map((t) => [t.method, t.requestIndexOnConnection, t.outcome]), [['GET', 1, 'complete'], ['GET', 2, 'complete'], ['POST', 3, 'complete']]);
      assert.equal(txs[2]!.requestBodyBytes, 449); // Content-Length: 449 (multipart form)
    },
  },
  { file: 'arkime_http-wrapped-header.pcap' },
  {
    file: 'arkime_websocket.pcap',
    check: (txs) => {
      const t = one(txs);
      assert.equal(t.status, 101);
      assert.equal(t.upgrade, 'websocket');
    },
  },
  { file: 'arkime_socks-http-example.pcap', check: (txs) => assert.ok(txs.every((t) => t.anomalies.includes('http1-resync'))) },
  {
    file: 'arkime_wireshark-retrans.pcap',
    differs: { why: 'tshark counts two retransmitted responses twice; TCP reassembly delivers each response once', statuses: ['200', '200', '200', '200'] },
    check: (txs) => assert.deepEqual(txs.map((t) => t.requestIndexOnConnection), [1, 2, 3, 4]),
  },
  {
    file: 'arkime_http2-nghttp2.pcap',
    differs: {
      why: 'tshark 4.0 does not decode the 16384-byte HEADERS frame continued by CONTINUATION; mirrorlens does (and sees the pushed stylesheet)',
      requests: ['GET /', 'GET /stylesheets/screen.css'],
    },
    check: (txs) => {
      assert.equal(txs.length, 2);
      assert.ok(txs.every((t) => t.httpVersion === '2' && t.outcome === 'complete'));
      assert.ok(txs.some((t) => t.anomalies.includes('h2-server-push') && t.streamId === 2));
    },
  },
  { file: 'arkime_tcp-reassembly-synthetic.pcap' },
  {
    file: 'arkime_no-syn-ack.pcap',
    differs: { why: 'the response is cut by the end of the capture: tshark shows no response, mirrorlens an incomplete one', statuses: ['200'] },
    check: (txs) => {
      const t = one(txs);
      assert.equal(t.outcome, 'incomplete');
      assert.equal(t.endedBy, 'capture-end');
    },
  },
  { file: 'ja4_http1.pcapng', check: (txs) => assert.ok(txs.some((t) => t.requestIndexOnConnection === 2 && (t.idleBeforeRequestSeconds ?? 0) > 59)) },
  { file: 'zeek_100-continue.pcap', check: (txs) => assert.deepEqual(one(txs).interimStatuses, [100]) },
  {
    file: 'zeek_docker-http-upgrade.pcap',
    check: (txs) => assert.ok(txs.some((t) => t.status === 101 && t.upgrade !== null)),
  },
  {
    file: 'zeek_connect-with-header.pcap',
    check: (txs) => {
      const t = one(txs);
      assert.equal(t.method, 'CONNECT');
      assert.equal(t.upgrade, 'CONNECT');
    },
  },
  {
    file: 'zeek_get-to-ssh-server.pcap',
    differs: { why: 'tshark dissects port 22 as SSH; mirrorlens does not go by port and sees a GET left unanswered', requests: ['GET /'] },
    check: (txs) => {
      const t = one(txs);
      assert.equal(t.outcome, 'no-response');
      assert.equal(t.endedBy, 'rst');
    },
  },
  { file: 'zeek_get_nosyn.pcap' },
  {
    file: 'suricata-verify_http-gap-simple_input.pcap',
    differs: { why: 'the second response body has a capture gap: tshark drops the response, mirrorlens keeps it as incomplete', statuses: ['200', '200', '200'] },
    check: (txs) => {
      assert.equal(txs.length, 3);
      assert.equal(txs[1]!.outcome, 'incomplete');
      assert.ok(txs[1]!.anomalies.includes('capture-gap'));
      assert.equal(txs[2]!.outcome, 'complete');
    },
  },
  { file: 'suricata-verify_http2-continuation_input.pcap' },
  {
    file: 'suricata-verify_http2-keywords2_input.pcap',
    check: (txs) => {
      const up = txs.find((t) => t.upgrade === 'h2c');
      assert.ok(up);
      assert.equal(up.streamId, 1);
      assert.deepEqual(up.interimStatuses, [101]);
      assert.equal(up.status, 200);
    },
  },
  { file: 'suricata-verify_http2-range_http2-range.pcap' },
  { file: 'suricata-verify_http2-long-frame_input.pcap', decodeAs: ['tcp.port==8443,http2'] },
  { file: 'wireshark_packet-h2-14_headers.pcapng', decodeAs: ['tcp.port==3000,http2'] },
];

for (const c of CASES) {
  test(`${c.file}: transactions match tshark${c.differs ? ` except: ${c.differs.why}` : ''}`, async () => {
    assert.ok(existsSync(join(dir, c.file)));
    const txs = await transactions(c.file);
    const got = ours(txs);
    const ref = tshark(c.file, c.decodeAs ?? []);
    assert.deepEqual(got.requests, (c.differs?.requests ?? ref.requests).slice().sort(), 'requests (method + target)');
    assert.deepEqual(got.statuses, (c.differs?.statuses ?? ref.statuses).slice().sort(), 'statuses (interim and final)');
    if (c.differs) {
      // The stated difference must still be a difference, or the exception is stale.
      const same = JSON.stringify(got.requests) === JSON.stringify(ref.requests) && JSON.stringify(got.statuses) === JSON.stringify(ref.statuses);
      assert.equal(same, false, 'tshark now agrees: remove the stated difference');
    }
    c.check?.(txs);
    for (const t of txs) assert.equal(t.uid, `${t.connUid}-${t.requestIndexOnConnection}`);
  });
}

for (const file of ['suricata-verify_http2-keywords2_input.pcap']) {
  test(`${file}: live tshark agrees with the stored tshark output and with mirrorlens`, { skip: !haveTshark && 'tshark not installed' }, async () => {
    const live = tshark(file, [], true);
    assert.deepEqual(live, tshark(file, []));
    assert.deepEqual(ours(await transactions(file)), live);
  });
}
