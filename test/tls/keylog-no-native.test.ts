// MIRRORLENS_NO_NATIVE=1 (or no addon): the key log's lines are checked by the JavaScript, with the
// same results; KeyLog({ native: false }) does the same in a process that has the addon, even
// for a DSB handed over with the lines the native first pass checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { DSB_TLS_KEYLOG, KeyLog } from '../../src/tls/keylog.js';

const CR = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const H96 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'.repeat(3);
const TEXT = `# keys\r\nCLIENT_RANDOM ${CR} ${H96}\nnonsense\nEXPORTER_SECRET ${CR} ${H96.slice(0, 64)}\rCLIENT_RANDOM ${CR}\n`;

/** What reading TEXT gives: issues, key lines, secret lines, the secrets of CR. */
function read(k: KeyLog): string {
  const r = k.addWholeText(TEXT, 'k.log', true);
  const s = k.get(CR);
  return JSON.stringify([r, k.secretLines, s && Buffer.from(s.masterSecret!).toString('hex'), s && Object.keys(s.tls13)]);
}

test('with MIRRORLENS_NO_NATIVE=1 there is no native check, and the key log reads the same', () => {
  const child = `
    import { nativeKeyLogLines } from './src/tls/keylog-native.ts';
    import { KeyLog } from './src/tls/keylog.ts';
    const k = new KeyLog();
    const r = k.addWholeText(${JSON.stringify(TEXT)}, 'k.log', true);
    const s = k.get(${JSON.stringify(CR)});
    console.log(JSON.stringify({ native: nativeKeyLogLines('x', 0, true) !== null, read: JSON.stringify([r, k.secretLines, s && Buffer.from(s.masterSecret).toString('hex'), s && Object.keys(s.tls13)]) }));
  `;
  const p = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, MIRRORLENS_NO_NATIVE: '1' },
    encoding: 'utf8',
  });
  assert.equal(p.status, 0, p.stderr);
  const out = JSON.parse(p.stdout) as { native: boolean; read: string };
  assert.equal(out.native, false);
  assert.equal(out.read, read(new KeyLog({ native: false })));
  assert.equal(out.read, read(new KeyLog()));
});

test('KeyLog({ native: false }) reads a DSB by the JavaScript even when handed checked lines', () => {
  // Lines that would be wrong for this text: the JavaScript reference must not use them.
  const bogus = new Int32Array([-1, 1, 0, 10, 1, 0, 10]);
  const k = new KeyLog({ native: false });
  const issues = k.addDsb(DSB_TLS_KEYLOG, Buffer.from(TEXT, 'latin1'), undefined, bogus);
  assert.deepEqual(
    issues.map((i) => i.line),
    [3, 5],
  );
  assert.equal(k.secretLines, 2);
});
