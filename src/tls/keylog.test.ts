import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DSB_TLS_KEYLOG, KeyLog, TLS13_LABELS, formatKeyLogIssue } from './keylog.js';

const CR = 'ad52329fcadd34ee3aa07092680287f09954823e26d7b5ae25c0d47714152a6a';
const MASTER = '97af4c8618cfdc0b2326e590114c2ec04b43b08b7e2c3f8124cc61a3b068ba9669517e744e3117c3ce6c538a2d88dfdf';
const S32 = 'be4a28d81ce41242ff31c6d8a6615852178f2cd75eaca2ee8768f9ed51282b38';

test('every RFC 9850 label is stored under its client random, hex in either case', () => {
  const k = new KeyLog();
  const lines = [`CLIENT_RANDOM ${CR.toUpperCase()} ${MASTER}`, ...TLS13_LABELS.map((l) => `${l} ${CR} ${S32.toUpperCase()}`)];
  assert.deepEqual(k.addText(lines.join('\n'), 'k.log'), []);
  const s = k.get(CR)!;
  assert.equal(Buffer.from(s.masterSecret!).toString('hex'), MASTER);
  for (const l of TLS13_LABELS) assert.equal(Buffer.from(s.tls13[l]!).toString('hex'), S32);
  assert.equal(k.size, 1);
  assert.equal(k.secretLines, 8);
});

test('CRLF, CR and LF line ends, comments, blank lines and ECH labels are accepted silently', () => {
  const k = new KeyLog();
  const text = `# SSL/TLS secrets log file\r\n\r\nCLIENT_RANDOM ${CR} ${MASTER}\rECH_SECRET ${CR} ${S32}\nECH_CONFIG ${CR} 0011\n   \n`;
  assert.deepEqual(k.addText(text, 'k'), []);
  assert.ok(k.get(CR)?.masterSecret);
});

test('malformed lines are reported with file and line, skipped, and never quote a secret', () => {
  const k = new KeyLog();
  const text = [
    `CLIENT_RANDOM ${CR} ${MASTER}`, // 1 ok
    `CLIENT_RANDOM ${CR.slice(2)} ${MASTER}`, // 2 short random
    `CLIENT_RANDOM ${CR} ${MASTER.slice(2)}`, // 3 short master
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CR} ${S32}zz`, // 4 not hex
    `BOGUS_LABEL ${CR} ${S32}`, // 5 unknown label
    `CLIENT_RANDOM ${CR}`, // 6 two fields
    `RSA 0011 ${MASTER}`, // 7 short RSA prefix
  ].join('\n');
  const issues = k.addText(text, 'keys.txt');
  assert.deepEqual(issues.map((i) => i.line), [2, 3, 4, 5, 6, 7]);
  for (const i of issues) {
    assert.equal(i.source, 'keys.txt');
    assert.ok(!i.message.includes(MASTER.slice(0, 16)) && !i.message.includes(S32.slice(0, 16)), i.message);
  }
  assert.equal(formatKeyLogIssue(issues[0]!), 'keys.txt:2: CLIENT_RANDOM: field 2 (client random) is 62 hex digits, expected 64 hex digits');
  assert.equal(issues[1]!.message, 'CLIENT_RANDOM: field 3 (master secret) is 94 hex digits, expected 96 hex digits (48 bytes)');
  assert.equal(issues[2]!.message, 'CLIENT_HANDSHAKE_TRAFFIC_SECRET: field 3 (secret) is 66 characters (2 not hex digits), expected 64 or 96 hex digits (SHA-256/SHA-384)');
  assert.equal(issues[3]!.message, 'field 1 is an unknown label of 11 characters, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0');
  assert.equal(issues[4]!.message, 'CLIENT_RANDOM: expected 3 fields (label, client random, secret), got 2: field 2 is 64 hex digits');
  assert.equal(issues[5]!.message, 'RSA: field 2 (encrypted pre-master prefix) is 4 hex digits, expected 16 hex digits');
  assert.ok(k.get(CR)?.masterSecret, 'the good line is kept');
});

/** Every run of 16 or more hex digits in `text`. */
function hexRuns(text: string): string[] {
  return text.match(/[0-9a-fA-F]{16,}/g) ?? [];
}

test('corrupted lines are described by position and shape; no field but a known label is quoted', () => {
  const cut = MASTER.slice(0, 40);
  const cases: [string, string][] = [
    // Fields out of order: the secret first.
    [`${MASTER} ${CR} CLIENT_RANDOM`, 'field 1 is 96 hex digits, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0 (fields out of order?)'],
    [`CLIENT_TRAFFIC_SECRET_0 ${S32} ${CR}${CR}`, 'CLIENT_TRAFFIC_SECRET_0: field 3 (secret) is 128 hex digits, expected 64 or 96 hex digits (SHA-256/SHA-384)'],
    [`SERVER_TRAFFIC_SECRET_0 ${MASTER} ${CR}`, 'SERVER_TRAFFIC_SECRET_0: field 2 (client random) is 96 hex digits, expected 64 hex digits'],
    // The end of a line cut mid-secret, the next line glued on (two writers, one file).
    [`${cut}CLIENT_RANDOM ${CR} ${MASTER}`, 'field 1 is 40 hex digits followed by the label CLIENT_RANDOM, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0 (a line cut short with the next one glued on: two programs writing one key log?)'],
    [
      `CLIENT_RANDOM ${CR} ${cut}CLIENT_RANDOM ${CR} ${MASTER}`,
      'CLIENT_RANDOM: expected 3 fields (label, client random, secret), got 5: field 2 is 64 hex digits, field 3 is 40 hex digits followed by the label CLIENT_RANDOM, field 4 is 64 hex digits, field 5 is 96 hex digits (a line cut short with the next one glued on: two programs writing one key log?)',
    ],
    // Cut: a label, a secret.
    ['CLIENT_HANDSH', 'field 1 is a label cut short ("CLIENT_HANDSH", 13 characters), expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0'],
    [`CLIENT_RANDOM ${CR} ${cut}`, 'CLIENT_RANDOM: field 3 (master secret) is 40 hex digits, expected 96 hex digits (48 bytes)'],
    // NULs (a file preallocated and never filled), a lost space, a long line.
    [`CLIENT_RANDOM ${CR} ${MASTER.slice(0, 20)}\0\0${MASTER.slice(22)}`, 'CLIENT_RANDOM: field 3 (master secret) is 96 characters (2 not hex digits, 2 NULs), expected 96 hex digits (48 bytes)'],
    [`CLIENT_RANDOM${CR} ${MASTER}`, 'field 1 is the label CLIENT_RANDOM then 64 hex digits, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0'],
    [`CLIENT_RANDOM ${CR} ${MASTER.repeat(1000)}`, 'CLIENT_RANDOM: field 3 (master secret) is 96000 hex digits, expected 96 hex digits (48 bytes)'],
    [`PMS_CLIENT_RANDOM ${CR} ${MASTER}0`, 'PMS_CLIENT_RANDOM: field 3 (pre-master secret) is 97 hex digits, expected an even number of hex digits'],
    [`RSA 0011223344556677 ${MASTER}zz`, 'RSA: field 3 (pre-master secret) is 98 characters (2 not hex digits), expected 96 hex digits'],
    [`RSA Session-ID:${cut} Master-Key:${MASTER.slice(1)}`, 'RSA Session-ID line: the master key is 95 hex digits, expected 96 hex digits'],
    [`RSA Session-ID:zz${cut} Master-Key:${MASTER}`, 'RSA Session-ID line: the session id is 42 characters (2 not hex digits), expected 2 to 64 hex digits (an even number)'],
  ];
  for (const [line, want] of cases) {
    const issues = new KeyLog().addText(line, 'k.log');
    assert.equal(issues.length, 1, line.slice(0, 60));
    assert.equal(issues[0]!.message, want);
    for (const run of hexRuns(line)) assert.ok(!issues[0]!.message.includes(run.slice(0, 16)), `${want} quotes the line`);
  }
});

test('property: whatever a line holds, its issue quotes no run of 16 hex digits from it', () => {
  const piece = fc.constantFrom(CR, MASTER, S32, MASTER.slice(0, 40), 'CLIENT_RANDOM', 'SERVER_TRAFFIC_SECRET_0', 'RSA', 'Session-ID:', 'Master-Key:', ' ', '\t', '\0', '#', 'zz');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const line = parts.join('');
      for (const i of new KeyLog().addText(line, 'k')) {
        for (const run of i.message.match(/[0-9a-fA-F]{16,}/g) ?? []) assert.ok(!line.includes(run), `${i.message} quotes the line`);
      }
    }),
  );
});

test('a UTF-8 byte order mark before the first line is skipped; a UTF-16LE file is decoded', () => {
  const k = new KeyLog();
  assert.deepEqual(k.addText(`\u00ef\u00bb\u00bfCLIENT_RANDOM ${CR} ${MASTER}\n`, 'k'), []);
  assert.ok(k.get(CR)?.masterSecret);
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`SERVER_TRAFFIC_SECRET_0 ${CR} ${S32}\r\n`, 'utf16le')]);
  assert.deepEqual(k.addText(utf16.toString('latin1'), 'k16'), []);
  assert.equal(Buffer.from(k.get(CR)!.tls13.SERVER_TRAFFIC_SECRET_0!).toString('hex'), S32);
});

test('a UTF-16LE key log of several lines is read line by line (the line ends are looked for in the decoded text)', () => {
  const k = new KeyLog();
  const text = `SERVER_TRAFFIC_SECRET_0 ${CR} ${S32}\r\nCLIENT_TRAFFIC_SECRET_0 ${CR} ${S32}\r\n# done\r\n`;
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  assert.deepEqual(k.addText(utf16.toString('latin1'), 'k16'), []);
  assert.equal(k.secretLines, 2);
  assert.ok(k.get(CR)?.tls13.CLIENT_TRAFFIC_SECRET_0);
});

test('legacy RSA, PMS_CLIENT_RANDOM and RSA Session-ID lines', () => {
  const k = new KeyLog();
  const issues = k.addText(
    [`RSA 0011223344556677 ${MASTER}`, `PMS_CLIENT_RANDOM ${CR} ${MASTER}`, `RSA Session-ID:00ff Master-Key:${MASTER}`].join('\n'),
    'k',
  );
  assert.deepEqual(issues, []);
  assert.ok(k.rsaPreMaster('0011223344556677'));
  assert.ok(k.get(CR)?.preMasterSecret);
  assert.ok(k.masterBySessionId('00FF'));
});

test('Decryption Secrets Blocks: TLSK content is read, other secret types are reported', () => {
  const k = new KeyLog();
  assert.deepEqual(k.addDsb(DSB_TLS_KEYLOG, Buffer.from(`CLIENT_RANDOM ${CR} ${MASTER}\n`)), []);
  assert.ok(k.get(CR));
  const other = k.addDsb(0x57474b4c, Buffer.from('LOCAL_STATIC_PRIVATE_KEY=abc'));
  assert.equal(other.length, 1);
  assert.match(other[0]!.message, /0x57474b4c is not a TLS key log/);
});

test('watchers hear about keys for their client random only', () => {
  const k = new KeyLog();
  const heard: string[] = [];
  const stop = k.watch(CR.toUpperCase(), (cr) => heard.push(cr));
  k.addText(`CLIENT_RANDOM ${'00'.repeat(32)} ${MASTER}`, 'k');
  k.addText(`CLIENT_RANDOM ${CR} ${MASTER}`, 'k');
  stop();
  k.addText(`SERVER_TRAFFIC_SECRET_0 ${CR} ${S32}`, 'k');
  assert.deepEqual(heard, [CR]);
});

test('a followed key log file is read as it grows, lines split across writes joined, numbering kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-keylog-'));
  try {
    const path = join(dir, 'keys.log');
    writeFileSync(path, '# first\n');
    const k = new KeyLog();
    const later: number[] = [];
    const w = k.follow(path, (is) => later.push(...is.map((i) => i.line)), 60_000);
    assert.equal(k.size, 0);
    appendFileSync(path, `CLIENT_RANDOM ${CR} ${MASTER.slice(0, 40)}`);
    assert.deepEqual(w.poll(), []);
    assert.equal(k.size, 0, 'half a line waits');
    appendFileSync(path, `${MASTER.slice(40)}\nnonsense\n`);
    const issues = w.poll();
    assert.equal(k.size, 1);
    assert.deepEqual(issues.map((i) => i.line), [3]);
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key log that does not exist yet is waited for, then followed (the client usually starts after the capture); a new file at the path is read from its start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-keylog-'));
  try {
    const path = join(dir, 'keys.log');
    const k = new KeyLog();
    const w = k.follow(path, () => {}, 60_000);
    assert.deepEqual(w.poll(), []);
    assert.equal(k.size, 0);
    writeFileSync(path, `CLIENT_RANDOM ${CR} ${MASTER}\n`);
    w.poll();
    assert.equal(k.size, 1, 'read once it appeared');
    // Replaced (deleted and written again): the new file is read from its start.
    rmSync(path);
    writeFileSync(path, `CLIENT_RANDOM ${'11'.repeat(32)} ${MASTER}\n`);
    w.poll();
    assert.equal(k.size, 2);
    w.close();
    assert.throws(() => k.follow(dir), (e: Error & { code?: string }) => e.code === 'ML_FILE_OPEN', 'a path that cannot be read for another reason fails at once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('addFile names the file it cannot read', () => {
  assert.throws(() => new KeyLog().addFile('no/such/keys.log'), (e: Error & { code?: string }) => e.code === 'ML_FILE_OPEN' && /no such file/.test(e.message));
});

test('a line repeated with the same secret (key log file, then the same keys in the capture) is skipped, not re-announced', () => {
  const k = new KeyLog();
  const heard: string[] = [];
  k.watch(CR, (cr) => heard.push(cr));
  const text = `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CR} ${S32}\nCLIENT_RANDOM ${CR} ${MASTER}\n`;
  assert.deepEqual(k.addText(text, 'keys.log'), []);
  const first = k.get(CR)!.tls13.CLIENT_HANDSHAKE_TRAFFIC_SECRET;
  assert.deepEqual(k.addDsb(DSB_TLS_KEYLOG, Buffer.from(text.toUpperCase())), []);
  assert.equal(heard.length, 2, 'the repeats tell no one again');
  assert.equal(k.secretLines, 4, 'repeats still count as accepted lines');
  assert.equal(k.get(CR)!.tls13.CLIENT_HANDSHAKE_TRAFFIC_SECRET, first, 'the stored secret is kept');
  // The same label and client random with another secret replaces it and is announced.
  const other = S32.replace(/^be/, '00');
  assert.deepEqual(k.addText(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CR} ${other}`, 'later.log'), []);
  assert.equal(heard.length, 3);
  assert.equal(Buffer.from(k.get(CR)!.tls13.CLIENT_HANDSHAKE_TRAFFIC_SECRET!).toString('hex'), other);
});

test('lines with tabs, repeated spaces or surrounding blanks are read like single-spaced ones', () => {
  const k = new KeyLog();
  const text = [`CLIENT_RANDOM\t${CR}\t${MASTER}`, `  SERVER_TRAFFIC_SECRET_0  ${CR}   ${S32}  `, `CLIENT_TRAFFIC_SECRET_0 ${CR} ${S32}\t`].join('\r\n');
  assert.deepEqual(k.addText(text, 'k'), []);
  const s = k.get(CR)!;
  assert.equal(Buffer.from(s.masterSecret!).toString('hex'), MASTER);
  assert.equal(Buffer.from(s.tls13.SERVER_TRAFFIC_SECRET_0!).toString('hex'), S32);
  assert.equal(Buffer.from(s.tls13.CLIENT_TRAFFIC_SECRET_0!).toString('hex'), S32);
});

test('property: issues and their line numbers are the same whether a text is added whole or line by line (CRLF, CR, LF)', () => {
  const good = [`CLIENT_RANDOM ${CR} ${MASTER}`, `SERVER_HANDSHAKE_TRAFFIC_SECRET ${CR} ${S32}`, `PMS_CLIENT_RANDOM ${CR} ${MASTER}`, '# comment', ''];
  const bad = [`CLIENT_RANDOM ${CR} ${MASTER}0`, `CLIENT_RANDOM ${CR.slice(1)} ${MASTER}`, `EXPORTER_SECRET ${CR} ${S32.slice(2)}`, 'nonsense', `X ${CR} ${S32}`, `CLIENT_RANDOM ${CR}  `];
  const lineArb = fc.oneof(fc.constantFrom(...good, ...bad), fc.string({ maxLength: 12 }).filter((x) => !/[\r\n]/.test(x)));
  fc.assert(
    fc.property(fc.array(fc.tuple(lineArb, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 12 }), fc.boolean(), (parts, trailing) => {
      let text = parts.map(([l, eol]) => l + eol).join('');
      if (!trailing && parts.length > 0) text = text.slice(0, text.length - parts[parts.length - 1]![1].length);
      const whole = new KeyLog().addText(text, 'k.log', 5);
      const byLine = new KeyLog();
      const expected = text.split(/\r\n|\r|\n/).flatMap((line, i) => byLine.addText(line, 'k.log', 5 + i));
      assert.deepEqual(whole, expected);
    }),
  );
});

/** How many client randoms are decoded into the key log's table (an internal: lines wait until a look-up). */
const decoded = (k: KeyLog) => (k as unknown as { secrets: { size: number } }).secrets.size;

test('lines are checked as they are read but decoded only when something is looked up', () => {
  const k = new KeyLog();
  const text = [`CLIENT_RANDOM ${CR} ${MASTER}`, 'nonsense', `SERVER_TRAFFIC_SECRET_0 ${'11'.repeat(32)} ${S32}`].join('\n');
  assert.deepEqual(k.addText(text, 'k.log').map((i) => i.line), [2], 'a bad line is reported at once');
  assert.equal(k.secretLines, 2);
  assert.equal(decoded(k), 0, 'nothing decoded before a look-up');
  assert.equal(Buffer.from(k.get(CR)!.masterSecret!).toString('hex'), MASTER);
  assert.equal(decoded(k), 2);
  assert.equal(k.get(CR), k.get(CR.toUpperCase()), 'one object per client random');
});

test('the newest secret of a label wins, whatever the shape of the lines and whenever they are decoded', () => {
  const other = S32.replace(/^be/, '00');
  const third = S32.replace(/^be/, '33');
  const fast = (s: string) => `CLIENT_TRAFFIC_SECRET_0 ${CR} ${s}`;
  const odd = (s: string) => `  CLIENT_TRAFFIC_SECRET_0\t${CR}  ${s}`; // read by the general parser
  for (const [lines, want] of [
    [[fast(S32), odd(other), fast(third)], third],
    [[fast(S32), fast(third), odd(other)], other],
    [[odd(other), fast(S32)], S32],
  ] as const) {
    // In one text; line by line with a look-up between; with a listener (decoded as read).
    const whole = new KeyLog();
    assert.deepEqual(whole.addText(lines.join('\n'), 'k'), []);
    const stepwise = new KeyLog();
    for (const l of lines) {
      stepwise.addText(l, 'k');
      stepwise.get(CR);
    }
    const heard = new KeyLog();
    heard.onKey(() => {});
    heard.addText(lines.join('\r\n'), 'k');
    for (const k of [whole, stepwise, heard]) assert.equal(Buffer.from(k.get(CR)!.tls13.CLIENT_TRAFFIC_SECRET_0!).toString('hex'), want);
  }
});

test('a listener hears of each new secret as its line is read, and then finds the secrets read so far', () => {
  const k = new KeyLog();
  const seen: string[][] = [];
  k.watch(CR, (cr) => seen.push(Object.keys(k.get(cr)!.tls13).sort()));
  const text = [`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CR} ${S32}`, `CLIENT_RANDOM ${'22'.repeat(32)} ${MASTER}`, `CLIENT_TRAFFIC_SECRET_0 ${CR} ${S32}`].join('\n');
  k.addText(text, 'k');
  assert.deepEqual(seen, [['CLIENT_HANDSHAKE_TRAFFIC_SECRET'], ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0']]);
});

test('the key lines of a large text that is mostly something else are kept, not the text', () => {
  const k = new KeyLog();
  const filler = `# ${'x'.repeat(100_000)}`;
  const text = [`CLIENT_RANDOM ${CR} ${MASTER}`, filler, `SERVER_TRAFFIC_SECRET_0 ${CR} ${S32}`, filler].join('\n');
  assert.deepEqual(k.addText(text, 'k'), []);
  const pending = (k as unknown as { pending: { chars: number } }).pending.chars;
  assert.ok(pending < 1000, `${pending} characters wait`);
  const s = k.get(CR)!;
  assert.equal(Buffer.from(s.masterSecret!).toString('hex'), MASTER);
  assert.equal(Buffer.from(s.tls13.SERVER_TRAFFIC_SECRET_0!).toString('hex'), S32);
});

test('more than 8 MB of key lines waiting are decoded at once (memory: the table is smaller than their text)', () => {
  const k = new KeyLog();
  const lines: string[] = [];
  for (let i = 0; i < 50_000; i++) lines.push(`CLIENT_RANDOM ${i.toString(16).padStart(64, '0')} ${MASTER}`);
  k.addText(lines.join('\n'), 'k');
  assert.equal(decoded(k), 50_000);
  assert.equal(k.size, 50_000);
});

test('forgetBefore drops the client randoms and learned sessions first stored before the time, and nothing else', () => {
  let now = 100;
  const k = new KeyLog({ now: () => now });
  const cr = (i: number) => i.toString(16).padStart(64, '0');
  const line = (i: number) => `CLIENT_TRAFFIC_SECRET_0 ${cr(i)} ${S32}`;
  k.addText([1, 2, 3].map(line).join('\n'), 'a');
  k.learnSession('aa01', 'bb01', new Uint8Array(48));
  now = 200;
  k.addText([4, 5].map(line).join('\n'), 'b');
  // Another secret for an old client random does not make it new.
  k.addText(`SERVER_TRAFFIC_SECRET_0 ${cr(1)} ${S32}`, 'c');
  k.learnSession('aa02', '', new Uint8Array(48));
  assert.equal(k.size, 5);

  assert.equal(k.forgetBefore(100), 0);
  assert.equal(k.forgetBefore(150), 3);
  assert.equal(k.size, 2);
  assert.equal(k.get(cr(1)), undefined);
  assert.ok(k.get(cr(4))?.tls13.CLIENT_TRAFFIC_SECRET_0);
  assert.equal(k.masterBySessionId('aa01'), undefined);
  assert.equal(k.masterByTicket('bb01'), undefined);
  assert.ok(k.masterBySessionId('aa02'));

  // Stored again after being forgotten: new, with the new time.
  now = 300;
  k.addText(line(1), 'd');
  assert.equal(k.forgetBefore(250), 2);
  assert.deepEqual([k.size, k.get(cr(1)) !== undefined, k.masterBySessionId('aa02')], [1, true, undefined]);
  assert.equal(k.forgetBefore(Infinity), 1);
  assert.equal(k.size, 0);
});

test('forgetBefore keeps up with a long run: queue entries are dropped, not kept forever', () => {
  let now = 0;
  const k = new KeyLog({ now: () => now });
  let forgotten = 0;
  for (let i = 0; i < 20_000; i++) {
    now = i;
    k.addText(`CLIENT_RANDOM ${i.toString(16).padStart(64, '0')} ${MASTER}`, 'live');
    if (i % 100 === 99) forgotten += k.forgetBefore(now - 1000);
  }
  // The last call (i = 19 999) forgot what was stored before 18 999.
  assert.equal(forgotten, 18_999);
  assert.equal(k.size, 1001);
  const queue = (k as unknown as { randomQueue: { keys: unknown[] } }).randomQueue.keys.length;
  assert.ok(queue < 1001 + 4096 * 2, `queue holds ${queue} entries`);
});
