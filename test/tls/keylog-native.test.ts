// The key log's line check in C (native/analyze/keylog.c through tls/keylog-native.ts) against
// the JavaScript (KeyLog.readText: LineWalk + wellFormedLine, then the general parser): every
// key log and every other text of test/fixtures and the public corpus, generated logs (every
// label, every line end, blank and comment lines, the shapes the JavaScript accepts or reports,
// both cases of hex, a last line without its end, cut lines, NULs and high bytes, long lines,
// byte order marks), each read as a latin1 file, a UTF-8 file, any text and a Decryption Secrets
// Block: the same issues, key lines, pending lines and secrets (keylog-native-diff.ts). Also the
// native walk line by line against LineWalk + wellFormedLine (into arrays too small, which it
// must outgrow), and the first pass's checked DSBs. Skipped when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { startNativeFirstPass } from '../../src/flow/first-pass-native.js';
import { DSB_TLS_KEYLOG, KeyLog, TLS13_LABELS } from '../../src/tls/keylog.js';
import { LineWalk, wellFormedLine } from '../../src/tls/keylog-secrets.js';
import { LINES_HDR, LINES_OTHER, LINES_REC, LINES_WALKED, LINES_WELL_FORMED, nativeKeyLogLines } from '../../src/tls/keylog-native.js';
import { dsbLines, keyLogDifference, nativeKeysHere, type Way } from './keylog-native-diff.js';

const skip = nativeKeysHere() ? false : 'the native addon is not built here';
const FIXTURES = resolve(import.meta.dirname, '../fixtures');
const CORPUS = process.env.MIRRORLENS_CORPUS ?? resolve(import.meta.dirname, '../../../shared/corpus');
const WAYS: Way[] = ['file-latin1', 'file-utf8', 'text', 'dsb'];

function files(dir: string, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const f of names) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

/** Asserts that native = JavaScript for `bytes` every way; returns how many ways the native check ran. */
function same(name: string, bytes: Uint8Array): number {
  let ran = 0;
  for (const way of WAYS) {
    const d = keyLogDifference(bytes, way);
    assert.equal(d.difference, null, `${name} (${way})`);
    if (d.ran) ran++;
  }
  return ran;
}

// ---------------------------------------------------------------- generated key logs

const CR = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const H96 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'.repeat(3);
const H64 = H96.slice(0, 64);

/** A small seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hexOf = (r: () => number, n: number, upper = false): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)]!;
  return upper ? s.toUpperCase() : s;
};

/** Lines of every kind the reader meets: well-formed ones, the other shapes it accepts, and the ones it reports. */
function lineKinds(r: () => number): string[] {
  const cr = hexOf(r, 64, r() < 0.3);
  const s96 = hexOf(r, 96, r() < 0.3);
  const s64 = s96.slice(0, 64);
  const mixed = cr.slice(0, 32).toUpperCase() + cr.slice(32);
  return [
    `CLIENT_RANDOM ${cr} ${s96}`,
    `CLIENT_RANDOM ${mixed} ${s96.toUpperCase()}`,
    `PMS_CLIENT_RANDOM ${cr} ${s96}`,
    `PMS_CLIENT_RANDOM ${cr} ${s64}`, // accepted, not the well-formed shape
    `PMS_CLIENT_RANDOM ${cr} ${s96.slice(0, 95)}`,
    ...TLS13_LABELS.map((l) => `${l} ${cr} ${s64}`),
    ...TLS13_LABELS.map((l) => `${l} ${cr} ${s96}`),
    `CLIENT_TRAFFIC_SECRET_0 ${cr} ${s96}00`,
    `CLIENT_TRAFFIC_SECRET_0 ${cr} ${s64.slice(0, 63)}`,
    `CLIENT_TRAFFIC_SECRET_0 ${cr} ${s96.slice(0, 80)}`,
    `CLIENT_RANDOM ${cr} ${s64}`,
    `CLIENT_RANDOM ${cr.slice(0, 63)} ${s96}`,
    `CLIENT_RANDOM ${cr}0 ${s96}`,
    `CLIENT_RANDOM  ${cr} ${s96}`,
    `CLIENT_RANDOM\t${cr}\t${s96}`,
    ` CLIENT_RANDOM ${cr} ${s96}`,
    `CLIENT_RANDOM ${cr} ${s96} `,
    `CLIENT_RANDOM ${cr} ${s96}\t`,
    `\u00a0CLIENT_RANDOM ${cr} ${s96}\u00a0`,
    `\u000bCLIENT_RANDOM ${cr} ${s96}`,
    `client_random ${cr} ${s96}`,
    `CLIENT_RANDOM ${cr} ${s96} extra`,
    `CLIENT_RANDOM ${cr}`,
    `CLIENT_RANDOM`,
    `CLIENT_HANDSH`,
    `CLIENT_RANDOM ${cr} ${s96.slice(0, 10)}\0\0${s96.slice(12)}`,
    `CLIENT_RANDOM ${cr} ${s96.slice(0, 40)}\u00ff\u00e9${s96.slice(42)}`,
    `CLIENT_RANDOM ${cr} ${s96.slice(0, 48)}CLIENT_RANDOM ${cr} ${s96}`,
    `${s96} ${cr} CLIENT_RANDOM`,
    `SERVER_HANDSHAKE_TRAFFIC_SECRET ${cr} ${s96.slice(0, 50)}`,
    `RSA ${s64.slice(0, 16)} ${s96}`,
    `RSA ${s64.slice(0, 15)} ${s96}`,
    `RSA Session-ID:${s64} Master-Key:${s96}`,
    `RSA Session-ID:${s64.slice(0, 7)} Master-Key:${s96}`,
    `ECH_SECRET ${cr} ${s64}`,
    `ECH_CONFIG ${cr} abc`,
    `SERVER_EARLY_TRAFFIC_SECRET ${cr} ${s64}`,
    `UNKNOWN_LABEL ${cr} ${s64}`,
    `# SSL/TLS secrets log file, generated by NSS`,
    `   # indented comment`,
    `#`,
    ``,
    `   `,
    `\t`,
    `\0\0\0\0`,
    `\u0080\u0085\u00ff`,
    `x`,
    `${'f'.repeat(3000)}`,
    `CLIENT_RANDOM ${cr} ${s96.repeat(50)}`,
  ];
}

const EOLS = ['\n', '\r\n', '\r', '\n\n', '\r\r\n', '\n\r'];

/** A key log of `n` lines picked from lineKinds, with line ends picked from EOLS (the last maybe none). */
function generated(seed: number, n: number): string {
  const r = rng(seed);
  const kinds = lineKinds(r);
  const wellFormed = kinds.filter((k) => wellFormedLine(k, 0, k.length));
  let text = '';
  for (let i = 0; i < n; i++) {
    // mostly well-formed lines, as in a real key log
    const line = r() < 0.6 ? wellFormed[Math.floor(r() * wellFormed.length)]! : kinds[Math.floor(r() * kinds.length)]!;
    const eol = i === n - 1 && r() < 0.5 ? '' : r() < 0.7 ? '\n' : EOLS[Math.floor(r() * EOLS.length)]!;
    text += line + eol;
  }
  return text;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

test('every line kind, alone, with each line end and none, reads the same natively', { skip }, () => {
  const kinds = lineKinds(rng(1));
  let ran = 0;
  for (const k of kinds) for (const eol of ['', ...EOLS]) ran += same(JSON.stringify(k.slice(0, 40) + eol), latin1(k + eol));
  assert.equal(ran, kinds.length * (EOLS.length + 1) * WAYS.length, 'the native check ran every time');
});

test('generated key logs (mixed line kinds and line ends) read the same natively', { skip }, () => {
  for (let seed = 1; seed <= 400; seed++) same(`seed ${seed}`, latin1(generated(seed, 1 + (seed % 60))));
});

test('large key logs (20 000 and 100 000 lines: beyond the reused array) read the same', { skip }, () => {
  same('20 000 lines', latin1(generated(7, 20000)));
  same('100 000 lines', latin1(generated(8, 100000)));
  same('100 000 lines, ASCII', latin1(generated(9, 100000).replace(/[^\x00-\x7f]/g, '?')));
});

test('byte order marks: UTF-8 skipped (read as latin1 and as UTF-8), UTF-16LE decoded (then checked natively, but in a DSB)', { skip }, () => {
  const body = `CLIENT_RANDOM ${CR} ${H96}\n# c\r\nEXPORTER_SECRET ${CR} ${H64}\nbad line\n`;
  const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), latin1(body)]);
  assert.equal(same('UTF-8 byte order mark', bom8), WAYS.length);
  const bom16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]);
  assert.equal(same('UTF-16LE byte order mark', bom16), WAYS.length - 1);
  assert.equal(dsbLines(bom16), null);
  assert.equal(new KeyLog().addWholeText(bom16.toString('latin1'), 'k16', true).keyLines, 3);
});

test('a UTF-8 file beyond ASCII, and any text with characters above U+00FF, read the same', { skip }, () => {
  const b = Buffer.from(`# clé\nCLIENT_RANDOM ${CR} ${H96}\nCLIENT_RANDOM ${CR} ${H96.slice(2)}é\n\u0130\u2028CLIENT_RANDOM ${CR} ${H96}\u0130\n`, 'utf8');
  same('UTF-8 beyond ASCII', b);
  // Characters whose low byte is a line end, a hex digit or a space must not count as them.
  const wide = `CLIENT_RANDOM ${CR}\u0120${H96}\n\u010aCLIENT_RANDOM ${CR} ${H96}\u010d\n\u0141${CR.slice(1)}\nCLIENT_RANDOM ${CR} ${H96}\n`;
  for (const k of [new KeyLog(), new KeyLog({ native: false })]) assert.equal(k.addWholeText(wide, 'w').keyLines, 4);
  const js = new KeyLog({ native: false });
  const c = new KeyLog();
  assert.deepEqual(c.addWholeText(wide, 'w'), js.addWholeText(wide, 'w'));
  assert.equal(c.secretLines, 1);
  assert.equal(js.secretLines, 1);
});

test('edge texts: empty, line ends only, no final line end, a 1 MiB line, NULs, every byte value', { skip }, () => {
  const all = Buffer.alloc(256 * 3);
  for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one LF', latin1('\n')],
    ['one CR', latin1('\r')],
    ['CRLF', latin1('\r\n')],
    ['LF CR', latin1('\n\r')],
    ['no final line end', latin1(`CLIENT_RANDOM ${CR} ${H96}`)],
    ['a final CR', latin1(`CLIENT_RANDOM ${CR} ${H96}\r`)],
    ['a 1 MiB line then a key', latin1(`CLIENT_RANDOM ${CR} ${'a'.repeat(1 << 20)}\nCLIENT_RANDOM ${CR} ${H96}\n`)],
    ['a 1 MiB line of hex', latin1(`${'0'.repeat(1 << 20)}\n`)],
    ['NULs in front (a pre-allocated file)', Buffer.concat([Buffer.alloc(4096), latin1(`CLIENT_RANDOM ${CR} ${H96}\n`)])],
    ['every byte value', all],
    ['a key around every byte value', Buffer.concat([latin1(`CLIENT_RANDOM ${CR} ${H96}\n`), all, latin1(`\nCLIENT_RANDOM ${CR} ${H96}`)])],
  ];
  for (const [name, b] of cases) same(name, b);
});

test('the native walk ends lines as LineWalk does and finds the lines wellFormedLine finds (arrays too small to hold them too)', { skip }, () => {
  for (let seed = 1; seed <= 60; seed++) {
    const text = generated(1000 + seed, 1 + (seed % 25));
    // The JavaScript's lines: (start, end, well-formed, number), the empty ones left out as the native walk leaves them.
    const want: [number, number, boolean, number][] = [];
    let n = 0;
    for (const w = new LineWalk(text, 0, text.length); w.next(); n++) if (w.end > w.start) want.push([w.start, w.end, wellFormedLine(text, w.start, w.end), n]);
    for (const size of [10, 11, 12, 15, 16, 33, 4096]) {
      for (const oneByte of [true, false]) {
        const given = new Int32Array(size);
        const out = nativeKeyLogLines(text, 0, oneByte, given)!;
        const got: [number, number, boolean, number][] = [];
        for (let k = 0; k < out[LINES_OTHER]!; k++) {
          const r = out.length - LINES_REC * (k + 1);
          got.push([out[r]!, out[r + 1]!, false, out[r + 2]!]);
        }
        // (a well-formed line's number is not given: it follows from its place)
        for (let k = 0; k < out[LINES_WELL_FORMED]!; k++) got.push([out[LINES_HDR + 2 * k]!, out[LINES_HDR + 2 * k + 1]!, true, -1]);
        got.sort((x, y) => x[0] - y[0]);
        const what = `seed ${seed}, an array of ${size}, ${oneByte ? 'one byte' : 'UTF-16'}`;
        assert.equal(out[LINES_WALKED], n, `${what}: lines walked`);
        assert.equal(out === given, LINES_HDR + 2 * out[LINES_WELL_FORMED]! + LINES_REC * out[LINES_OTHER]! <= size, `${what}: the array given is used when the lines fit`);
        assert.deepEqual(
          got,
          want.map(([s, e, wf, line]) => [s, e, wf, wf ? -1 : line]),
          what,
        );
      }
    }
  }
});

test('every key log and every other file of test/fixtures and the public corpus reads the same natively', { skip }, () => {
  const all = [...files(FIXTURES), ...files(CORPUS)].filter((f) => statSync(f).size <= 4 << 20);
  let keyLogs = 0;
  for (const f of all) {
    same(relative(resolve(FIXTURES, '../..'), f), readFileSync(f));
    if (/(\.keylog|_keylog\.dat|\.keys|keylog\.txt|log\.txt)$/.test(f)) keyLogs++;
  }
  assert.ok(keyLogs >= 20, `key logs among them (${keyLogs})`);
});

test('the first pass checks its TLS key log DSBs, and adding them with their lines = the JavaScript', { skip }, async () => {
  const caps = files(FIXTURES).filter((f) => /\.pcapng$/.test(f));
  let checked = 0;
  for (const c of caps) {
    const r = await startNativeFirstPass([c], { idleGapThresholdSeconds: 30 }, null).result;
    if ('declined' in r) continue;
    for (const d of r.dsbs) {
      if (d.type !== DSB_TLS_KEYLOG) {
        assert.equal(d.lines, null, `${c}: only TLS key log blocks are checked`);
        continue;
      }
      assert.ok(d.lines instanceof Int32Array, `${c}: a TLS key log block comes with its lines`);
      assert.deepEqual(Array.from(d.lines), Array.from(dsbLines(d.data)!), c);
      const js = new KeyLog({ native: false });
      const text = Buffer.from(d.data).toString('latin1');
      const want = js.addWholeText(text, 'pcapng Decryption Secrets Block #1').issues;
      const k = new KeyLog();
      assert.deepEqual(k.addDsb(d.type, d.data, undefined, d.lines), want, c);
      assert.equal(k.secretLines, js.secretLines, c);
      checked++;
    }
  }
  assert.ok(checked >= 3, `TLS key log blocks among the fixtures (${checked})`);
});

test('with someone listening for keys, lines are read (and announced) by the JavaScript, as before', { skip }, () => {
  const text = `CLIENT_RANDOM ${CR} ${H96}\nEXPORTER_SECRET ${CR} ${H64}\n`;
  const heard: string[] = [];
  const k = new KeyLog();
  k.onKey((cr) => heard.push(cr));
  assert.deepEqual(k.addWholeText(text, 'k', true), { issues: [], keyLines: 2 });
  assert.deepEqual(heard, [CR, CR]);
  const d = new KeyLog();
  const heardDsb: string[] = [];
  d.onKey((cr) => heardDsb.push(cr));
  d.addDsb(DSB_TLS_KEYLOG, latin1(text), undefined, dsbLines(latin1(text)));
  assert.deepEqual(heardDsb, [CR, CR]);
});
