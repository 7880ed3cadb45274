// No key-log secret is ever echoed. Every corruption class of fuzz/keylog-corrupt.ts, given as a
// --keylog file and embedded in a capture as a Decryption Secrets Block, goes through every
// command that reads keys (or captures) in every output format; no run of 16 hex digits from the
// key log may appear in stdout, stderr or any file written (reports, evidence JSON), except the
// client randoms the capture itself carries in its ClientHellos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { PcapngWriter, SecretsType } from '../../src/capture/pcapng-writer.js';
import { KeylogFollower } from '../../src/capture/listen-keylog.js';
import { KeyLog, formatKeyLogIssue } from '../../src/tls/keylog.js';
import { KEYLOG_CORRUPTIONS, keyLogTexts } from '../../fuzz/keylog-corrupt.js';
import { findLeak, secretWindows } from '../../fuzz/oracle.js';
import { runCli } from '../cli-harness.js';

const F = join(import.meta.dirname, '..', 'fixtures', 'tls');
/** A TLS 1.2 capture with HTTP inside, and a TLS 1.3 one: the corruption classes alternate. */
const BASES = [
  { capture: join(F, 'zeek/tls12-decryption.pcap'), keylog: join(F, 'zeek/tls12-decryption.derived.keylog') },
  { capture: join(F, 'illustrated-tls13/capture.pcap'), keylog: join(F, 'illustrated-tls13/keylog.txt') },
];

/** The capture's packets in a pcapng that starts with a Decryption Secrets Block holding `secrets`. */
async function withDsb(capture: string, secrets: Uint8Array, out: string): Promise<void> {
  const w = new PcapngWriter({ path: out });
  w.writeSecrets(SecretsType.TLSKeyLog, secrets);
  const ifs = new Map<number, number>();
  await readCapture(capture, (rec) => {
    let id = ifs.get(rec.linkType);
    if (id === undefined) ifs.set(rec.linkType, (id = w.addInterface({ linkType: rec.linkType })));
    w.writePacket(id, rec.tsSec, rec.tsNsec, rec.data, rec.offset, rec.capturedLength, rec.originalLength);
  });
  w.close();
}

/** Client randoms on the wire, and the uid of the first TLS connection (for follow). */
async function wireFacts(capture: string): Promise<{ randoms: string[]; uid: string }> {
  const r = await runCli(['tls', capture, '--json']);
  assert.equal(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { uid: string; clientRandoms: string[] });
  return { randoms: recs.flatMap((x) => x.clientRandoms), uid: recs[0]!.uid };
}

/** Every file under `dir` except pcapng evidence (which holds the keys it needs, on purpose). */
function writtenText(dir: string): string {
  let all = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.endsWith('.pcapng') || e.name.startsWith('in.')) continue;
    all += readFileSync(join(e.parentPath, e.name), 'latin1');
  }
  return all;
}

test('the leak oracle finds a secret in text that quotes one, and not a wire client random', () => {
  const text = readFileSync(BASES[1]!.keylog, 'latin1');
  const secret = text.split('\n')[0]!.split(' ')[2]!;
  const random = text.split('\n')[0]!.split(' ')[1]!;
  const windows = secretWindows([text], [random]);
  assert.notEqual(findLeak(`warning: k.log:1: "${secret.slice(10, 30).toUpperCase()}": bad`, windows), null);
  assert.equal(findLeak(`client random ${random}`, windows), null);
  assert.equal(findLeak(`k.log:1: field 3 is 96 hex digits`, windows), null);
});

test('no command prints or writes a key-log secret, whatever the key log or DSB holds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-keyleak-'));
  try {
    const facts = await Promise.all(BASES.map((b) => wireFacts(b.capture)));
    let runs = 0;
    for (const [ci, c] of KEYLOG_CORRUPTIONS.entries()) {
      const base = BASES[ci % BASES.length]!;
      const { randoms, uid } = facts[ci % BASES.length]!;
      const bytes = c.apply(readFileSync(base.keylog, 'latin1'));
      const windows = secretWindows(keyLogTexts(bytes), randoms);
      assert.ok(windows.size > 0, `${c.name}: the corrupted key log still holds secrets to look for`);
      const keylog = join(dir, `in.${c.name}.keylog`);
      const dsb = join(dir, `in.${c.name}.pcapng`);
      writeFileSync(keylog, bytes);
      await withDsb(base.capture, bytes, dsb);
      const out = join(dir, c.name);
      const k = ['--keylog', keylog];
      const runsOf: string[][] = [
        ['tls', base.capture, ...k],
        ['tls', base.capture, ...k, '--json'],
        ['http', base.capture, ...k],
        ['http', base.capture, ...k, '--json'],
        ['follow', base.capture, '--conn', uid, ...k],
        ['follow', base.capture, '--conn', uid, '--hex', ...k],
        ['analyze', base.capture, ...k],
        ['analyze', base.capture, ...k, '--format', 'json', '--all'],
        ['analyze', base.capture, ...k, '--format', 'html', '--all', '--out', `${out}.html`],
        ['analyze', base.capture, ...k, '--format', 'json', '--evidence', `${out}-evidence`],
        // The same key log inside the capture.
        ['read', dsb],
        ['read', dsb, '--json'],
        ['conns', dsb, '--json'],
        ['tls', dsb],
        ['tls', dsb, '--json'],
        ['http', dsb, '--json'],
        ['follow', dsb, '--conn', uid],
        ['analyze', dsb, '--all'],
        ['analyze', dsb, '--format', 'json', '--all'],
        ['analyze', dsb, '--format', 'html', '--all'],
        // A key log given where a capture or an access log is expected.
        ['read', keylog],
        ['logs', keylog],
        ['analyze', '--alb-log', keylog, '--format', 'json'],
      ];
      for (const args of runsOf) {
        const r = await runCli(args);
        runs++;
        // 4: a key log with no usable line, or given where a capture or log is expected (docs/cli.md).
        assert.ok(r.code === 0 || r.code === 1 || r.code === 4, `${c.name}: ${args.join(' ')} exited ${r.code}: ${r.err.slice(0, 300)}`);
        const leak = findLeak(`${r.out}\n${r.err}`, windows);
        assert.equal(leak, null, `${c.name}: ${args[0]} ${args.slice(2).join(' ')} printed a secret at ${leak?.context}`);
      }
      const leak = findLeak(writtenText(dir), windows);
      assert.equal(leak, null, `${c.name}: a written report or evidence file holds a secret at ${leak?.context}`);
      // The library's own issues, and listen --keylog's follower, on the same bytes.
      const issues = new KeyLog().addText(Buffer.from(bytes).toString('latin1'), keylog).map(formatKeyLogIssue);
      const notices: string[] = [];
      const follower = new KeylogFollower(keylog, () => {}, { onIssue: (m) => notices.push(m) });
      follower.stop();
      assert.equal(findLeak([...issues, ...notices].join('\n'), windows), null, `${c.name}: a key log issue quotes a secret`);
      rmSync(out + '-evidence', { recursive: true, force: true });
    }
    assert.equal(runs, KEYLOG_CORRUPTIONS.length * 23);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
