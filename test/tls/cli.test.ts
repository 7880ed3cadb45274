import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { escapeBytes, hexDump } from '../../src/cli/follow.js';

const F = join(import.meta.dirname, '..', 'fixtures', 'tls');

async function run(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  const stderr = new PassThrough();
  stdout.isTTY = tty;
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  let code: number;
  try {
    code = await main(args, { stdout, stderr, env: {} });
  } catch (e) {
    err += String(e);
    code = 99;
  }
  return { code, out, err };
}

test('tls lists each connection with version, suite, SNI, ALPN and decryption status', async () => {
  const r = await run(['tls', join(F, 'zeek/tls12-decryption.pcap'), join(F, 'snet/tls1.3_aes128.pcap'), '--keylog', join(F, 'zeek/tls12-decryption.derived.keylog')]);
  assert.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n').slice(1).map((l) => l.split('\t'));
  assert.equal(rows[0]![3], 'TLS 1.2');
  assert.equal(rows[0]![4], 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
  assert.equal(rows[0]![5], 'heise.de');
  assert.equal(rows[0]![6], 'http/1.1');
  assert.equal(rows[0]![8], 'decrypted');
  const noKey = r.out.trim().split('\n').find((l) => l.includes('TLS_AES_128_GCM_SHA256'))!;
  assert.match(noKey, /\tno-key\t/);
  assert.match(r.out, / {2}no key for client random [0-9a-f]{8}\.\.\./);
  assert.match(r.err, /2 TLS connections, 1 decrypted \(1 no-key\)/);
});

test('tls --json: one record per TLS connection; no secret from the key log appears anywhere', async () => {
  const keylog = join(F, 'snet/log.txt');
  const r = await run(['tls', join(F, 'snet/tls1.3_chacha.pcap'), '--keylog', keylog, '--json']);
  assert.equal(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.kind, 'tls');
  assert.equal(recs[0]!.status, 'decrypted');
  assert.equal(recs[0]!.version, 'TLS 1.3');
  assert.equal((recs[0]!.cipherSuite as { code: number }).code, 0x1303);
  const secrets = readFileSync(keylog, 'latin1').split('\n').map((l) => l.split(' ')[2]).filter((s): s is string => !!s && s.length >= 64);
  for (const s of secrets) assert.ok(!r.out.includes(s.toLowerCase()) && !r.err.includes(s.toLowerCase()) && !r.out.includes(s.slice(0, 16)));
});

test('tls reports malformed key log lines with file:line and goes on; a missing key file is one clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-tls-cli-'));
  try {
    const k = join(dir, 'keys.log');
    writeFileSync(k, `garbage line\n${readFileSync(join(F, 'zeek/tls12-decryption.derived.keylog'), 'latin1')}`);
    const r = await run(['tls', join(F, 'zeek/tls12-decryption.pcap'), '--keylog', k]);
    assert.equal(r.code, 0);
    assert.match(r.err, /keys\.log:1: field 1 is an unknown label of 7 characters, expected a label/);
    assert.match(r.out, /\tdecrypted\t/);
    const missing = await run(['tls', join(F, 'zeek/tls12-decryption.pcap'), '--keylog', join(dir, 'nope.log')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /nope\.log: cannot read key log: no such file/);
    assert.ok(!missing.err.includes('    at '), 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('follow prints the decrypted stream with direction headers; --hex dumps it; unknown uid is an error', async () => {
  const cap = join(F, 'zeek/tls12-decryption.pcap');
  const key = join(F, 'zeek/tls12-decryption.derived.keylog');
  const list = await run(['tls', cap, '--keylog', key]);
  const uid = list.out.split('\n')[1]!.split('\t')[1]!;
  const r = await run(['follow', cap, '--keylog', key, '--conn', uid]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Follow TLS stream C\w+ \(192\.168\.100\.70:48216 -> 193\.99\.144\.80:443\), TLS 1\.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, SNI heise\.de, ALPN http\/1\.1, decrypted plaintext\n=== client -> server, offset 0, at 2021-05-11T22:37:32\.\d+Z\nGET \/ HTTP\/1\.1\nHost: heise\.de\n/);
  assert.match(r.out, /\n=== server -> client, offset 0, at .*\nHTTP\/1\.1 301 Moved Permanently\n/);
  assert.match(r.err, /323 bytes client -> server, 602 bytes server -> client/);
  const h = await run(['follow', cap, '--keylog', key, '--conn', uid, '--hex', '--dir', 'client']);
  assert.match(h.out, /\n00000000 {2}47 45 54 20 2f 20 48 54 {2}54 50 2f 31 2e 31 0d 0a {2}\|GET \/ HTTP\/1\.1\.\.\|\n/);
  assert.ok(!h.out.includes('server -> client'));
  const none = await run(['follow', cap, '--conn', 'Cnope']);
  assert.notEqual(none.code, 0);
  assert.match(none.err, /no connection with uid 'Cnope'/);
  const noKey = await run(['follow', cap, '--conn', uid]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.err, /TLS no-key: no key for client random/);
  const raw = await run(['follow', cap, '--conn', uid, '--raw'], true);
  assert.notEqual(raw.code, 0);
  assert.match(raw.err, /--raw writes captured bytes unescaped/);
});

test('follow text view: no control byte reaches the terminal (ESC, CR, C1, DEL escaped; backslash doubled)', () => {
  // 1b 5b 32 4a = ESC [ 2 J (clear screen); 9b = C1 CSI; 0d 0a = CRLF (kept as newline)
  const b = Buffer.from('1b5b324a41420d0a9b7f5c0a', 'hex');
  const s = escapeBytes(b, 0, b.length);
  assert.equal(s, '\\x1b[2JAB\n\\x9b\\x7f\\\\\n');
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(s));
  assert.equal(hexDump(Buffer.from('1b41', 'hex'), 0, 2, 16), '00000010  1b 41                                             |.A|\n');
});
