/**
 * Differential test: for every TLS capture with keys in test/fixtures/tls, the application data
 * we decrypt equals what tshark (Follow TLS Stream) decrypts from the same file and keys.
 *
 * Which captures tshark 4.0 decrypts (MANIFEST "tshark decrypted" column): all of them except
 * snet/TLS1_2_ARIA128-GCM-SHA256_auth.pcap (tshark 4.0 lacks ARIA: "ssl_set_cipher can't find
 * cipher suite 0xC050"). There we assert we decrypt the known plaintext ourselves.
 * TCP streams are extracted with tshark (payload + relative seq, retransmissions dropped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyLog } from '../../src/tls/keylog.js';
import { readCapture } from '../../src/capture/reader.js';
import { hasTshark, runSink, tcpStreams, tsharkCapture } from './helpers.js';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { StreamSink } from '../../src/flow/stream.js';
import { createAppSink, type AppSink } from '../../src/tls/sniff.js';

const F = join(import.meta.dirname, '..', 'fixtures', 'tls');

interface Case {
  capture: string;
  /** null: keys from the capture's Decryption Secrets Blocks. */
  keylog: string | null;
  tsharkArgs?: string[];
  /** What we must see (version / suite of the first TLS stream). */
  version: string;
  suite: string;
  /** tshark 4.0 does not decrypt it: compare with the expected plaintext prefix instead. */
  tsharkCannot?: string;
  /** Streams that resume an earlier session. */
  resumedStreams?: number[];
  /** TCP streams in the capture (default 1). */
  streams?: number;
  /**
   * The flow stage (reorder window 0.1 s) reports a gap where tshark's out-of-order reassembly
   * waits longer: through the pipeline this capture decrypts partially (resumed after the gap).
   */
  pipelineGap?: boolean;
  /** Key log lines we must report as malformed (and skip). */
  badLines?: number[];
}

const cases: Case[] = [
  { capture: 'illustrated-tls12/capture.pcap', keylog: 'illustrated-tls12/keylog.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' },
  { capture: 'illustrated-tls13/capture.pcap', keylog: 'illustrated-tls13/keylog.txt', version: 'TLS 1.3', suite: 'TLS_AES_256_GCM_SHA384' },
  { capture: 'ja4/chrome-cloudflare-quic-with-secrets.pcapng', keylog: null, version: 'TLS 1.3', suite: 'TLS_AES_128_GCM_SHA256' },
  { capture: 'ja4/http2-with-cookies.pcapng', keylog: null, version: 'TLS 1.3', suite: 'TLS_AES_128_GCM_SHA256' },
  { capture: 'wireshark/dhe1.pcapng', keylog: 'wireshark/dhe1_keylog.dat', version: 'TLS 1.0', suite: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA' },
  { capture: 'wireshark/rsa-p-lt-q.pcap', keylog: 'wireshark/rsa-p-lt-q.derived.keylog', version: 'TLS 1.2', suite: 'TLS_RSA_WITH_AES_256_CBC_SHA' },
  { capture: 'wireshark/rsasnakeoil2.pcap', keylog: 'wireshark/rsasnakeoil2.derived.keylog', streams: 2, version: 'SSL 3.0', suite: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', resumedStreams: [1], badLines: [4] },
  { capture: 'wireshark/tls-renegotiation.pcap', keylog: 'wireshark/tls-renegotiation.derived.keylog', tsharkArgs: ['-d', 'tcp.port==4433,tls'], version: 'TLS 1.2', suite: 'TLS_RSA_WITH_AES_128_CBC_SHA' },
  { capture: 'wireshark/tls12-aes128ccm.pcap', keylog: 'wireshark/tls12-aes128ccm.derived.keylog', version: 'TLS 1.2', suite: 'TLS_PSK_WITH_AES_128_CCM' },
  { capture: 'wireshark/tls12-aes256gcm.pcap', keylog: 'wireshark/tls12-aes256gcm.derived.keylog', version: 'TLS 1.2', suite: 'TLS_PSK_WITH_AES_256_GCM_SHA384' },
  { capture: 'wireshark/tls12-chacha20poly1305.pcap', keylog: 'wireshark/tls12-chacha20poly1305.keys', streams: 7, version: 'TLS 1.2', suite: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256' },
  { capture: 'wireshark/tls13-20-chacha20poly1305.pcap', keylog: 'wireshark/tls13-20-chacha20poly1305.keys', streams: 2, version: 'TLS 1.3 (draft 20)', suite: 'TLS_CHACHA20_POLY1305_SHA256' },
  { capture: 'wireshark/http2-brotli.pcapng', keylog: null, version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'wireshark/http2_follow_multistream.pcapng', keylog: null, tsharkArgs: ['-o', 'tcp.reassemble_out_of_order:TRUE'], pipelineGap: true, version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' },
  { capture: 'zeek/tls12-decryption.pcap', keylog: 'zeek/tls12-decryption.derived.keylog', version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'snet/TLS1_1_ECDHE-RSA-AES128-SHA.pcap', keylog: 'snet/TLS1_1_ECDHE-RSA-AES128-SHA.txt', version: 'TLS 1.1', suite: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' },
  { capture: 'snet/TLS1_2_AES128-CCM8_auth.pcap', keylog: 'snet/TLS1_2_AES128-CCM8_auth.txt', version: 'TLS 1.2', suite: 'TLS_RSA_WITH_AES_128_CCM_8' },
  { capture: 'snet/TLS1_2_ARIA128-GCM-SHA256_auth.pcap', keylog: 'snet/TLS1_2_ARIA128-GCM-SHA256_auth.txt', version: 'TLS 1.2', suite: 'TLS_RSA_WITH_ARIA_128_GCM_SHA256', tsharkCannot: 'AAAAAAAAAA' },
  { capture: 'snet/TLS1_2_CAMELLIA256-SHA256_auth.pcap', keylog: 'snet/TLS1_2_CAMELLIA256-SHA256_auth.txt', version: 'TLS 1.2', suite: 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256' },
  { capture: 'snet/TLS1_2_ECDHE-ECDSA-AES128-CCM_auth.pcap', keylog: 'snet/TLS1_2_ECDHE-ECDSA-AES128-CCM_auth.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM' },
  { capture: 'snet/TLS1_2_ECDHE-RSA-AES256-SHA384_auth.pcap', keylog: 'snet/TLS1_2_ECDHE-RSA-AES256-SHA384_auth.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384' },
  { capture: 'snet/TLS1_2_ECDHE-RSA-CHACHA20-POLY1305_auth.pcap', keylog: 'snet/TLS1_2_ECDHE-RSA-CHACHA20-POLY1305_auth.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' },
  { capture: 'snet/TLS1_3_TLS_AES_128_CCM_8_SHA256.pcap', keylog: 'snet/TLS1_3_TLS_AES_128_CCM_8_SHA256.txt', version: 'TLS 1.3', suite: 'TLS_AES_128_CCM_8_SHA256' },
  { capture: 'snet/TLS1_3_TLS_AES_256_GCM_SHA384.pcap', keylog: 'snet/TLS1_3_TLS_AES_256_GCM_SHA384.txt', version: 'TLS 1.3', suite: 'TLS_AES_256_GCM_SHA384' },
  { capture: 'snet/TLS1_ECDHE-RSA-NULL-SHA.pcap', keylog: 'snet/TLS1_ECDHE-RSA-NULL-SHA.txt', version: 'TLS 1.0', suite: 'TLS_ECDHE_RSA_WITH_NULL_SHA' },
  { capture: 'snet/mTLS1_2_Ed25519.pcap', keylog: 'snet/mTLS1_2_Ed25519.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'snet/mTLS1_3_RSA.pcap', keylog: 'snet/mTLS1_3_RSA.txt', version: 'TLS 1.3', suite: 'TLS_CHACHA20_POLY1305_SHA256' },
  { capture: 'snet/ssl3_0.pcap', keylog: 'snet/ssl3_0.keylog', streams: 2, version: 'SSL 3.0', suite: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA' },
  { capture: 'snet/tls1_0.pcap', keylog: 'snet/tls1_0.keylog', version: 'TLS 1.0', suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA' },
  { capture: 'snet/tls1_1.pcap', keylog: 'snet/tls1_1.keylog', streams: 2, version: 'TLS 1.0', suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA' },
  { capture: 'snet/tls1_2.pcap', keylog: 'snet/tls1_2.keylog', version: 'TLS 1.2', suite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'snet/tls1_2_dhe_rsa.pcap', keylog: 'snet/tls1_2_dhe_rsa.keylog', version: 'TLS 1.2', suite: 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'snet/tls1.2_aes256.pcap', keylog: 'snet/log.txt', version: 'TLS 1.2', suite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384' },
  { capture: 'snet/tls1.3_aes128.pcap', keylog: 'snet/log.txt', version: 'TLS 1.3', suite: 'TLS_AES_128_GCM_SHA256' },
  { capture: 'snet/tls1.3_aes256gcm.pcap', keylog: 'snet/log.txt', version: 'TLS 1.3', suite: 'TLS_AES_256_GCM_SHA384' },
  { capture: 'snet/tls1.3_ccm.pcap', keylog: 'snet/log.txt', version: 'TLS 1.3', suite: 'TLS_AES_128_CCM_SHA256' },
  { capture: 'snet/tls1.3_ccm8.pcap', keylog: 'snet/log.txt', version: 'TLS 1.3', suite: 'TLS_AES_128_CCM_8_SHA256' },
  { capture: 'snet/tls1.3_chacha.pcap', keylog: 'snet/log.txt', version: 'TLS 1.3', suite: 'TLS_CHACHA20_POLY1305_SHA256' },
];

async function loadKeys(c: Case): Promise<KeyLog> {
  const keys = new KeyLog();
  if (c.keylog !== null) {
    const issues = keys.addText(readFileSync(join(F, c.keylog), 'latin1'), c.keylog);
    // rsasnakeoil2's line 4 has an empty client random ("CLIENT_RANDOM  <secret>"): reported, skipped.
    assert.deepEqual(issues.map((i) => i.line), c.badLines ?? []);
  } else {
    await readCapture(join(F, c.capture), () => {}, { onSecrets: (t, d) => void keys.addDsb(t, d) });
    assert.ok(keys.size > 0, 'the capture carries Decryption Secrets Blocks');
  }
  return keys;
}

const skip = hasTshark() ? false : 'tshark not installed';

for (const c of cases) {
  test(`${c.capture}: decrypted application data equals tshark's`, { skip }, async () => {
    const keys = await loadKeys(c);
    const ts = tsharkCapture(join(F, c.capture), c.keylog === null ? null : join(F, c.keylog), c.streams ?? 1, c.tsharkArgs);
    const streams = ts.streams.filter((s) => s.events.length > 0);
    assert.ok(streams.length > 0);
    let first = true;
    let tsharkBytes = 0;
    for (const s of streams) {
      const r = runSink(s.events, keys, { uid: `S${s.index}` });
      const t = r.sink.tls;
      assert.ok(t !== null, `stream ${s.index} is TLS`);
      if (first) {
        assert.equal(t.version, c.version);
        assert.equal(t.cipherSuite?.name, c.suite);
        first = false;
      }
      assert.equal(t.notDecryptedReason, null, `stream ${s.index}: ${t.problems.join('; ')}`);
      assert.ok(r.offsetsOk, 'plaintext stream offsets are contiguous');
      if (c.resumedStreams?.includes(s.index)) assert.equal(t.resumed, true);
      if (c.tsharkCannot !== undefined) {
        assert.equal(r.client.subarray(0, c.tsharkCannot.length).toString('latin1'), c.tsharkCannot);
        continue;
      }
      const ref = ts.plain.get(s.index);
      assert.ok(ref !== undefined, `tshark followed stream ${s.index}`);
      tsharkBytes += ref.client.length + ref.server.length;
      assert.ok(ref.client.equals(r.client), `stream ${s.index} client→server plaintext (${r.client.length} vs tshark ${ref.client.length} bytes)`);
      assert.ok(ref.server.equals(r.server), `stream ${s.index} server→client plaintext (${r.server.length} vs tshark ${ref.server.length} bytes)`);
    }
    if (c.tsharkCannot === undefined) assert.ok(tsharkBytes > 0, 'tshark decrypts this capture');

    // The same through the real pipeline (capture → flow reassembly → createAppSink).
    const viaPipeline = new Map<number, { sink: AppSink; parts: [Buffer[], Buffer[]] }>();
    const pkeys = await loadKeys(c);
    await processCaptures([join(F, c.capture)], {
      onSecrets: (type, data) => void pkeys.addDsb(type, data),
      onConnectionStart(conn) {
        const parts: [Buffer[], Buffer[]] = [[], []];
        const plain: StreamSink = { data: (d, b, o, l) => void parts[d].push(Buffer.from(b.subarray(o, o + l))), gap() {}, end() {} };
        const sink = createAppSink(conn, pkeys, () => plain);
        viaPipeline.set(conn.clientPort, { sink, parts });
        return sink;
      },
    });
    for (const s of streams) {
      const ours = runSink(s.events, keys);
      const p = viaPipeline.get(s.clientPort);
      assert.ok(p !== undefined, `pipeline saw the connection from port ${s.clientPort}`);
      const pc = Buffer.concat(p.parts[0]);
      const ps = Buffer.concat(p.parts[1]);
      if (c.pipelineGap) {
        assert.equal(p.sink.tls!.notDecryptedReason, 'capture-gap');
        assert.match(p.sink.tls!.problems.join('; '), /decryption resumed/);
        assert.ok(ps.length > 0 && ours.server.subarray(ours.server.length - 1000).equals(ps.subarray(ps.length - 1000)), 'resumed to the end');
        continue;
      }
      assert.equal(p.sink.tls!.notDecryptedReason, null, p.sink.tls!.problems.join('; '));
      assert.ok(pc.equals(ours.client) && ps.equals(ours.server), `pipeline plaintext of port ${s.clientPort}`);
    }
  });
}

test('every chunking of a TLS 1.3 and a TLS 1.2 connection gives the same plaintext', { skip }, async () => {
  for (const c of [cases[1]!, cases[0]!, cases.find((x) => x.capture === 'snet/TLS1_2_AES128-CCM8_auth.pcap')!]) {
    const keys = await loadKeys(c);
    const [s] = tcpStreams(join(F, c.capture));
    const whole = runSink(s!.events, keys);
    for (const chunk of [1, 2, 3, 5, 7, 13, 64, 1000]) {
      const r = runSink(s!.events, keys, { chunk });
      assert.ok(r.client.equals(whole.client) && r.server.equals(whole.server), `${c.capture} chunk ${chunk}`);
      assert.ok(r.offsetsOk);
    }
  }
});

test('a TLS 1.2 session resumed by session id decrypts with the master secret learned from the first connection', { skip }, async () => {
  // rsasnakeoil2 stream 1 resumes stream 0's session. Keep only stream 0's key line.
  const text = readFileSync(join(F, 'wireshark/rsasnakeoil2.derived.keylog'), 'latin1');
  const streams = tcpStreams(join(F, 'wireshark/rsasnakeoil2.pcap')).filter((s) => s.events.length > 0);
  const full = new KeyLog();
  full.addText(text, 'k');
  const first = runSink(streams[0]!.events, full);
  const cr1 = runSink(streams[1]!.events, full).sink.tls!.clientRandom!;
  const partial = new KeyLog();
  partial.addText(text.split(/\r?\n/).filter((l) => !l.toLowerCase().includes(cr1)).join('\n'), 'k');
  assert.equal(partial.get(cr1), undefined);
  const a = runSink(streams[0]!.events, partial);
  assert.ok(a.server.equals(first.server));
  const b = runSink(streams[1]!.events, partial);
  assert.equal(b.sink.tls!.resumedBy, 'session-id');
  assert.equal(b.sink.tls!.notDecryptedReason, null);
  assert.ok(b.server.length > 0);
});
