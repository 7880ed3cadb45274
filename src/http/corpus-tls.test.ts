// HTTP over decrypted TLS on real captures (test/fixtures/http/tls, provenance in
// test/fixtures/README.md): capture → flow → TLS (createAppSink, key logs or pcapng Decryption
// Secrets Blocks) → HTTP, compared with tshark's stored output for the same files with the same keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processCaptures } from '../flow/pipeline.js';
import { KeyLog } from '../tls/keylog.js';
import { createAppSink } from '../tls/sniff.js';
import { createHttpSink } from './session.js';
import type { HttpTransaction } from './transaction.js';

const dir = join(import.meta.dirname, '../../test/fixtures/http/tls');

async function transactions(file: string, keylog?: string): Promise<HttpTransaction[]> {
  const keys = new KeyLog();
  if (keylog) keys.addText(readFileSync(join(dir, keylog), 'latin1'), keylog);
  const out: HttpTransaction[] = [];
  await processCaptures([join(dir, file)], {
    onSecrets: (type, data) => {
      keys.addDsb(type, data);
    },
    onConnectionStart: (c) => createAppSink(c, keys, (cc, info) => createHttpSink(cc, { alpn: info.alpn, tls: info.tls !== null }, (t) => out.push(t))),
  });
  return out;
}

function reference(file: string): { requests: string[]; statuses: string[] } {
  const requests: string[] = [];
  const statuses: string[] = [];
  let section = 0;
  for (const line of readFileSync(join(dir, `${file}.tshark.txt`), 'utf8').split('\n')) {
    if (line.startsWith('# $')) section++;
    if (line.startsWith('#') || !line.trim()) continue;
    const c = line.split('\t');
    const [m, u, s] = section === 1 ? [c[1], c[2], c[3]] : [c[2], c[3], c[4]];
    const ms = m ? m.split(',') : [];
    const us = u ? u.split(',') : [];
    ms.forEach((x, i) => requests.push(`${x} ${us[i]}`));
    if (s) statuses.push(...s.split(','));
  }
  return { requests: requests.sort(), statuses: statuses.sort() };
}

function ours(txs: HttpTransaction[]): { requests: string[]; statuses: string[] } {
  return {
    requests: txs.filter((t) => t.method !== null).map((t) => `${t.method} ${t.path}`).sort(),
    statuses: txs.flatMap((t) => [...t.interimStatuses, ...(t.status === null ? [] : [t.status])]).map(String).sort(),
  };
}

test('HTTP/2 over TLS 1.2 with keys in a pcapng DSB (http2-brotli): same as tshark, scheme https, version 2', async () => {
  const txs = await transactions('wireshark_http2-brotli.pcapng');
  assert.deepEqual(ours(txs), reference('wireshark_http2-brotli.pcapng'));
  assert.equal(txs[0]!.httpVersion, '2');
  assert.equal(txs[0]!.scheme, 'https');
  assert.equal(txs[0]!.outcome, 'complete');
});

test('HTTP/2 over TLS 1.3 (Chrome to Cloudflare, DSB): same as tshark', async () => {
  const txs = await transactions('ja4_chrome-cloudflare-quic-with-secrets.pcapng');
  assert.deepEqual(ours(txs), reference('ja4_chrome-cloudflare-quic-with-secrets.pcapng'));
});

test('HTTP/1.1 over SSLv3 with a key log (rsasnakeoil2): 11 keep-alive requests as tshark sees them, reuse counted', async () => {
  const txs = await transactions('wireshark_rsasnakeoil2.pcap', 'wireshark_rsasnakeoil2.derived.keylog');
  assert.deepEqual(ours(txs), reference('wireshark_rsasnakeoil2.pcap'));
  assert.ok(txs.some((t) => t.requestIndexOnConnection > 1));
  assert.ok(txs.every((t) => t.scheme === 'https'));
});

test('HTTP/1.1 across a TLS renegotiation (key log): same as tshark', async () => {
  const txs = await transactions('wireshark_tls-renegotiation.pcap', 'wireshark_tls-renegotiation.derived.keylog');
  assert.deepEqual(ours(txs), reference('wireshark_tls-renegotiation.pcap'));
});

test('HTTP/2 over TLS with 19 interleaved streams and a lost segment: requests as tshark; statuses tshark lost after the gap are decoded', async () => {
  const txs = await transactions('wireshark_http2_follow_multistream.pcapng');
  const got = ours(txs);
  const ref = reference('wireshark_http2_follow_multistream.pcapng');
  assert.deepEqual(got.requests, ref.requests);
  // tshark shows 13 statuses; after the lost segment it stops decoding HEADERS. mirrorlens decodes
  // more (the count depends on how much the TLS stage recovers around the gap): each extra one is
  // a 200 whose body, where a Content-Length was sent, has exactly that length.
  assert.equal(ref.statuses.length, 13);
  assert.ok(got.statuses.length > 13, `${got.statuses.length} statuses`);
  assert.ok(got.statuses.every((x) => x === '200'));
  const s41 = txs.find((t) => t.streamId === 41)!;
  assert.equal(s41.status, 200);
  assert.equal(s41.responseBodyBytes, Number(s41.responseHeaders['content-length']));
  for (const t of txs) {
    if (t.outcome === 'complete' && t.responseHeaders['content-length'] !== undefined) {
      assert.equal(t.responseBodyBytes, Number(t.responseHeaders['content-length']), `stream ${t.streamId}`);
    }
    // Streams the gap touched say so; streams without a status never claim to be complete.
    if (t.status === null) {
      assert.ok(t.outcome === 'no-response' || t.outcome === 'incomplete', `stream ${t.streamId}`);
      assert.ok(t.anomalies.includes('capture-gap'), `stream ${t.streamId}`);
    }
  }
});
