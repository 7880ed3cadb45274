/**
 * The legacy key log forms that carry a pre-master secret instead of the master secret:
 * `RSA <first 8 bytes of the encrypted pre-master, hex> <pre-master>` (Wireshark's form) and
 * `PMS_CLIENT_RANDOM <client random> <pre-master>`. The pre-master is recovered here from the
 * captures' own RSA key exchange with Wireshark's test keys (openssl pkeyutl, PKCS#1 v1.5), and
 * the plaintext must equal what the CLIENT_RANDOM (master secret) key log gives.
 * rsa-p-lt-q.pcap is TLS 1.2; rsasnakeoil2.pcap is SSL 3.0 (its own master-secret derivation),
 * whose second connection resumes the first by session id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyLog } from '../../src/tls/keylog.js';
import { hasTshark, runSink, tcpStreams } from './helpers.js';

const F = join(import.meta.dirname, '..', 'fixtures', 'tls', 'wireshark');

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The encrypted pre-master of every RSA key exchange, from tshark (given the master-secret key
 * log so that it also sees ClientKeyExchanges of renegotiations, which are encrypted).
 */
function rsaExchanges(pcap: string, keylog: string): { epms: Buffer }[] {
  const out = execFileSync('tshark', ['-r', pcap, '-o', `tls.keylog_file:${keylog}`, '-T', 'fields', '-e', 'tls.handshake.epms', '-Y', 'tls.handshake.type==16'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return out.split(/[\n,]/).filter((l) => l.trim() !== '').map((l) => ({ epms: Buffer.from(l.trim().replace(/:/g, ''), 'hex') }));
}

function decryptPms(keyFile: string, epms: Buffer): Buffer {
  return execFileSync('openssl', ['pkeyutl', '-decrypt', '-inkey', keyFile, '-pkeyopt', 'rsa_padding_mode:pkcs1'], { input: epms });
}

const skip = !hasTshark() ? 'tshark not installed' : !hasOpenssl() ? 'openssl not installed' : false;

for (const [pcap, keyFile, keylog] of [
  ['rsa-p-lt-q.pcap', 'rsa-p-lt-q.key', 'rsa-p-lt-q.derived.keylog'],
  ['rsasnakeoil2.pcap', 'rsasnakeoil2.key', 'rsasnakeoil2.derived.keylog'],
] as const) {
  test(`${pcap}: RSA and PMS_CLIENT_RANDOM key log lines decrypt like CLIENT_RANDOM`, { skip }, () => {
    const streams = tcpStreams(join(F, pcap)).filter((s) => s.events.length > 0);
    const reference = new KeyLog();
    reference.addText(readFileSync(join(F, keylog), 'latin1'), keylog);
    const exchanges = rsaExchanges(join(F, pcap), join(F, keylog));
    assert.ok(exchanges.length > 0);
    const rsaLines = exchanges.map((x) => `RSA ${x.epms.subarray(0, 8).toString('hex')} ${decryptPms(join(F, keyFile), x.epms).toString('hex')}`);
    const rsaKeys = new KeyLog();
    assert.deepEqual(rsaKeys.addText(rsaLines.join('\n'), 'rsa'), []);
    let compared = 0;
    for (const s of streams) {
      const want = runSink(s.events, reference);
      const got = runSink(s.events, rsaKeys);
      assert.equal(got.sink.tls!.notDecryptedReason, null, `${pcap} stream ${s.index}: ${got.sink.tls!.problems.join('; ')}`);
      assert.ok(want.client.length + want.server.length > 0);
      assert.ok(got.client.equals(want.client) && got.server.equals(want.server), `${pcap} stream ${s.index} (RSA label)`);
      // PMS_CLIENT_RANDOM: the same pre-master keyed by the client random (single-handshake capture).
      if (exchanges.length === 1 && streams.length === 1) {
        const pms = decryptPms(join(F, keyFile), exchanges[0]!.epms);
        const pmsKeys = new KeyLog();
        pmsKeys.addText(`PMS_CLIENT_RANDOM ${want.sink.tls!.clientRandom!} ${pms.toString('hex')}\n`, 'pms');
        const viaPms = runSink(s.events, pmsKeys);
        assert.ok(viaPms.client.equals(want.client) && viaPms.server.equals(want.server), `${pcap} stream ${s.index} (PMS_CLIENT_RANDOM)`);
      }
      compared++;
    }
    assert.equal(compared, streams.length);
  });
}
