import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from './main.js';
import { tableRow } from './http.js';
import { safeJson } from '../report/escape.js';
import { parseSpecs, runSpec } from '../http/spec/runner.js';

const fx = (f: string): string => join(import.meta.dirname, '../../test/fixtures/http', f);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    stdout: new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }),
    stderr: new Writable({ write: (c: Buffer, _e, cb) => ((err += c.toString()), cb()) }),
    env: {},
  };
  const code = await main(['http', ...args], io);
  return { code, out, err };
}

// A request whose target and Host carry terminal escapes (ESC [ 2 J, C1 CSI 0x9b) and a bidi override.
const HOSTILE = `## hostile
\`\`\`client
GET /\\x1b[2J\\xc2\\x9b31m\\xe2\\x80\\xae HTTP/1.1
Host: evil\\x1b]0;owned\\x07.example

\`\`\`
\`\`\`server
HTTP/1.1 502 Bad Gateway
Content-Length: 0

\`\`\`
\`\`\`do
end client fin
end server fin
\`\`\`
`;

test('captured strings are made harmless in the table and in JSON', () => {
  const [spec] = parseSpecs(HOSTILE, 'inline');
  const [tx] = runSpec(spec!);
  assert.ok(tx);
  // The parser keeps bytes as latin1; a terminal would read them as UTF-8.
  const row = tableRow(tx).join(' ');
  assert.doesNotMatch(row, /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  assert.match(row, /\\x1b\[2J/);
  const json = safeJson(tx);
  assert.doesNotMatch(json, /[\x00-\x1f\x7f-\x9f\u202e]/);
  assert.equal((JSON.parse(json) as { path: string }).path, tx.path);
});

test('no capture given: usage error, exit 2', async () => {
  const r = await cli([]);
  assert.equal(r.code, 2);
  assert.match(r.err, /give at least one capture/);
});

test('bad filters are usage errors naming the option', async () => {
  assert.match((await cli([fx('zeek_get_nosyn.pcap'), '--status', '5x'])).err, /--status/);
  assert.match((await cli([fx('zeek_get_nosyn.pcap'), '--outcome', 'done'])).err, /--outcome/);
  assert.match((await cli([fx('zeek_get_nosyn.pcap'), '--min-duration', '-1'])).err, /--min-duration/);
});

test('a missing capture file is one clear error line, exit 3', async () => {
  const r = await cli([fx('does-not-exist.pcap')]);
  assert.equal(r.code, 3);
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /does-not-exist\.pcap/);
});

test('--json prints one transaction per line; --status none / --outcome select the unanswered GET to an SSH server', async () => {
  const all = await cli([fx('zeek_get-to-ssh-server.pcap'), '--json']);
  assert.equal(all.code, 0);
  const lines = all.out.trim().split('\n');
  assert.equal(lines.length, 1);
  const tx = JSON.parse(lines[0]!) as { outcome: string; endedBy: string };
  assert.equal(tx.outcome, 'no-response');
  assert.equal((await cli([fx('zeek_get-to-ssh-server.pcap'), '--json', '--status', 'none'])).out.trim().split('\n').length, 1);
  assert.equal((await cli([fx('zeek_get-to-ssh-server.pcap'), '--json', '--status', '2xx'])).out, '');
  assert.equal((await cli([fx('zeek_get-to-ssh-server.pcap'), '--json', '--outcome', 'complete'])).out, '');
});

test('filters by method, host, path and duration on a 56-request browsing capture', async () => {
  const count = async (...a: string[]): Promise<number> => {
    const r = await cli([fx('ja4_http1.pcapng'), '--json', ...a]);
    return r.out.trim() === '' ? 0 : r.out.trim().split('\n').length;
  };
  // 56 requests (as tshark) plus one response whose request was before the capture.
  assert.equal(await count(), 57);
  const posts = await count('--method', 'post');
  assert.ok(posts > 0 && posts < 56);
  assert.equal(await count('--method', 'POST,GET,HEAD'), 56);
  assert.ok((await count('--host', 'connectivitycheck.gstatic.com')) > 0);
  assert.equal(await count('--host', 'unifi'), await count('--host', 'UNIFI'));
  const inform = await cli([fx('ja4_http1.pcapng'), '--json', '--path', '/inform']);
  const paths = inform.out.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path);
  assert.ok(paths.length > 0 && paths.every((p) => p.includes('/inform')));
  assert.ok((await count('--min-duration', '0.3')) < 56);
});

test('the table has a header row and a summary on stderr', async () => {
  const r = await cli([fx('arkime_http-100-continue.pcap')]);
  assert.equal(r.code, 0);
  const [head, row] = r.out.split('\n');
  assert.match(head!, /^time\s+uid\s+ver\s+method\s+host\s+path\s+status\s+outcome/);
  assert.match(row!, /\b\d{3} \(100\)/);
  assert.match(r.err, /^1 transaction \(/);
});
