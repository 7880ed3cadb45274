import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyLog } from './keylog.js';
import { loadKeyLogFile } from './keylog-file.js';

const CR = 'ad52329fcadd34ee3aa07092680287f09954823e26d7b5ae25c0d47714152a6a';
const S32 = 'be4a28d81ce41242ff31c6d8a6615852178f2cd75eaca2ee8768f9ed51282b38';
const GOOD = `CLIENT_TRAFFIC_SECRET_0 ${CR} ${S32}`;

/** loadKeyLogFile on a file holding `text`: its issues' lines, or the error's message. */
async function load(text: string | Buffer): Promise<{ lines: number[]; secrets: number } | string> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-keyfile-'));
  try {
    const path = join(dir, 'keys.log');
    writeFileSync(path, text);
    const keys = new KeyLog();
    const { issues } = await loadKeyLogFile(path, keys);
    return { lines: issues.map((i) => i.line), secrets: keys.secretLines };
  } catch (e) {
    return (e as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a key log with a good line and bad ones is read, the bad ones reported by line', async () => {
  assert.deepEqual(await load(`# keys\n\n${GOOD}\nnonsense\r\n  \t\nCLIENT_RANDOM ${CR}\n`), { lines: [4, 6], secrets: 1 });
});

test('a file of blank and comment lines only is not a key log', async () => {
  assert.equal(await load('# SSL/TLS secrets log file\n\n \t \r\n  # indented comment\r'), 'not a TLS key log (SSLKEYLOGFILE): the file holds no key line');
  assert.equal(await load(''), 'not a TLS key log (SSLKEYLOGFILE): the file holds no key line');
});

test('a file where every key line is bad is not a key log; the first bad line is named', async () => {
  assert.equal(
    await load(`# keys\nnonsense\nCLIENT_RANDOM ${CR}\n`),
    'not a TLS key log (SSLKEYLOGFILE): no line of it is one (line 2: field 1 is an unknown label of 8 characters, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0)',
  );
});

test('a UTF-8 byte order mark is not a character of the first line: a file of a mark and comments is not a key log', async () => {
  assert.deepEqual(await load(`\ufeff${GOOD}\n`), { lines: [], secrets: 1 });
  assert.deepEqual(await load(`\ufeff# keys\n${GOOD}\n`), { lines: [], secrets: 1 });
  assert.equal(await load('\ufeff'), 'not a TLS key log (SSLKEYLOGFILE): the file holds no key line');
  assert.equal(await load(`\ufeff# keys\n\n`), 'not a TLS key log (SSLKEYLOGFILE): the file holds no key line');
  assert.equal(
    await load(`\ufeff\nnonsense\n`),
    'not a TLS key log (SSLKEYLOGFILE): no line of it is one (line 2: field 1 is an unknown label of 8 characters, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0)',
  );
});
