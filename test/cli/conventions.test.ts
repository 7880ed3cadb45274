/**
 * The command line as a new user meets it, one test per problem found, through the real program
 * (test/cli/bin.ts): silent --out failures, directories and globs, Node error texts, unknown
 * options, wrong file types, 80 columns, conventions, --fail-on, the incident window, and the
 * smaller items. docs/cli.md is the contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runBin } from './bin.js';
import { readCapture } from '../../src/capture/reader.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';

const EX = join(ROOT, 'examples/idle-reset');
const CAP = join(EX, 'idle-reset.pcapng');
const KEYS = join(EX, 'keys.log');
const ALB = join(EX, 'alb-access.log');
/** The 502 of the example: its access-log time, client and trace id. */
const T502 = '2026-11-25T21:06:51.163Z';
const CLIENT = '198.51.100.10';
const TRACE = 'Root=1-6b074deb-e023e2934e0f0fc9ce72f246';
const BASE = ['analyze', CAP, '--keylog', KEYS, '--alb-log', ALB];

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ml-cli-conv-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function oneLine(err: string): string {
  const lines = err.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${err}`);
  return lines[0]!;
}

function findings(json: string): Array<{ kind: string; severity: string }> {
  return (JSON.parse(json) as { findings: Array<{ kind: string; severity: string }> }).findings;
}

test('1. analyze --out never fails silently: a missing directory, a path under a missing directory, a directory', async (t) => {
  const d = tmp(t);
  for (const out of ['/nonexistent/r.html', join(d, 'missing-dir/r.txt'), d]) {
    const r = await runBin([...BASE, '--out', out]);
    assert.equal(r.code, 5, `${out}: ${r.err}`);
    assert.match(oneLine(r.err), new RegExp(`^mirrorlens analyze: ${out.replace(/[/.]/g, '\\$&')}: cannot write report: `));
    assert.equal(r.out, '');
  }
  assert.ok(!existsSync(join(d, 'missing-dir')));
  const ok = await runBin([...BASE, '-o', join(d, 'r.html'), '--format', 'html']);
  assert.equal(ok.code, 0, ok.err);
  assert.match(readFileSync(join(d, 'r.html'), 'utf8'), /idle-timeout-reset/);
});

test('2. capture commands take a directory of rotated files and a quoted glob, as the files themselves', async (t) => {
  const d = tmp(t);
  mkdirSync(join(d, 'listen'));
  copyFileSync(CAP, join(d, 'listen', 'mirrorlens-20261125T210646.000Z.pcapng'));
  writeFileSync(join(d, 'listen', 'keys.log'), ''); // not a capture: left out of the directory
  const direct = await runBin(['conns', CAP]);
  const viaDir = await runBin(['conns', join(d, 'listen')]);
  const viaGlob = await runBin(['conns', join(d, 'listen', 'mirrorlens-*.pcapng')]);
  assert.equal(direct.code, 0, direct.err);
  assert.equal(viaDir.code, 0, viaDir.err);
  assert.equal(viaGlob.code, 0, viaGlob.err);
  assert.equal(viaDir.out, direct.out);
  assert.equal(viaGlob.out, direct.out);
  const http = await runBin(['http', join(d, 'listen'), '-k', KEYS, '--status', '502']);
  assert.match(http.out, /GET\s+alb\.mlab\.test\s+\/api\/checkout\s+502/);
  const none = await runBin(['read', join(d, 'nothing-*.pcap')]);
  assert.equal(none.code, 3);
  assert.match(oneLine(none.err), /nothing-\*\.pcap: no file matches this pattern$/);
});

test("3. no Node error texts: a missing key log, --evidence on a file, listen --out on a file, listen --filter missing", async (t) => {
  const d = tmp(t);
  const k = await runBin([...BASE.slice(0, 2), '--keylog', join(d, 'missing.log')]);
  assert.equal(k.code, 3);
  assert.equal(oneLine(k.err), `mirrorlens analyze: ${join(d, 'missing.log')}: cannot open key log: no such file or directory`);
  const file = join(d, 'a-file');
  writeFileSync(file, 'x');
  const ev = await runBin([...BASE, '--evidence', file]);
  assert.equal(ev.code, 5);
  assert.equal(ev.out, '', 'the report is not printed before the evidence fails');
  assert.equal(oneLine(ev.err), `mirrorlens analyze: ${file}: cannot write evidence directory: exists and is not a directory`);
  const lo = await runBin(['listen', '--out', file, '--quiet']);
  assert.equal(lo.code, 5);
  assert.match(oneLine(lo.err), /cannot use output directory: exists and is not a directory/);
  const lf = await runBin(['listen', '--out', join(d, 'cap'), '--filter', join(d, 'missing.yaml'), '--quiet']);
  assert.equal(lf.code, 3);
  assert.match(oneLine(lf.err), /missing\.yaml: cannot read filter file: no such file or directory$/);
  for (const r of [k, ev, lo, lf]) assert.doesNotMatch(r.err, /\bE[A-Z]{3,}\b/);
});

test('4. an unknown option is one line with the nearest one; a negative number reaches the option', async () => {
  const r = await runBin(['analyze', CAP, '--alb-logs', ALB]);
  assert.equal(r.code, 2);
  assert.equal(oneLine(r.err), "mirrorlens analyze: unknown option '--alb-logs' (did you mean --alb-log?) (see 'mirrorlens analyze --help')");
  const skew = await runBin([...BASE, '--max-skew', '-5']);
  assert.equal(skew.code, 2);
  assert.equal(oneLine(skew.err), "mirrorlens analyze: --max-skew wants a number of 0 or more, got '-5' (see 'mirrorlens analyze --help')");
  const cmd = await runBin(['analyse', CAP]);
  assert.equal(cmd.code, 2);
  assert.match(oneLine(cmd.err), /unknown command 'analyse' \(did you mean 'analyze'\?\)/);
});

test('5. a wrong file type is one error: a capture as --keylog, a capture as --alb-log, a capture cut before its first packet', async (t) => {
  const k = await runBin([...BASE.slice(0, 2), '--keylog', CAP]);
  assert.equal(k.code, 4);
  assert.equal(oneLine(k.err), `mirrorlens analyze: ${CAP}: not a TLS key log (SSLKEYLOGFILE): this is a pcapng capture`);
  const a = await runBin(['analyze', CAP, '--alb-log', CAP]);
  assert.equal(a.code, 4);
  assert.match(oneLine(a.err), /not an ALB, NLB or Classic LB access log: this is a pcapng capture, not a text log$/);
  const d = tmp(t);
  const cut = join(d, 'cut.pcapng');
  let firstBlock = -1;
  await readCapture(CAP, (rec) => {
    if (firstBlock < 0) firstBlock = rec.byteOffset;
  });
  writeFileSync(cut, readFileSync(CAP).subarray(0, firstBlock + 20)); // headers, key log, 20 bytes of the first packet block
  const c = await runBin(['analyze', cut, '--alb-log', ALB]);
  assert.equal(c.code, 4);
  assert.doesNotMatch(c.out, /No load-balancer errors/);
  assert.match(oneLine(c.err), /cut\.pcapng \(byte offset \d+\): no packet could be read: capture cut off/);
});

test('6. 80 columns: every help fits; analyze and conns fit a terminal of 80; a pipe gets whole lines', async () => {
  const top = await runBin(['--help']);
  const names = [...top.out.matchAll(/^ {2}([a-z]+) {2}/gm)].map((m) => m[1]!);
  assert.ok(names.includes('analyze') && names.includes('completion'), top.out);
  for (const name of ['', ...names]) {
    const h = await runBin(name ? [name, '--help'] : ['--help']);
    for (const l of h.out.split('\n')) assert.ok([...l].length <= 80, `${name || 'mirrorlens'} --help: ${[...l].length} columns: ${l}`);
  }
  const width = (s: string): number => Math.max(...s.split('\n').map((l) => [...l.replace(/\x1b\[[0-9;]*m/g, '')].length));
  const tty = await runBin(BASE, { tty: { columns: 80 } });
  assert.equal(tty.code, 0);
  assert.match(tty.out, /idle-timeout-reset/);
  assert.ok(width(tty.out) <= 80, `analyze on an 80-column terminal: ${width(tty.out)}`);
  const pipe = await runBin(BASE);
  assert.ok(width(pipe.out) > 80, 'a pipe gets the lines whole');
  const conns = await runBin(['conns', CAP], { tty: { columns: 80 } });
  assert.ok(width(conns.out) <= 80, `conns on an 80-column terminal: ${width(conns.out)}`);
  const tls = await runBin(['tls', CAP, '-k', KEYS], { tty: { columns: 80 } });
  assert.ok(width(tls.out) <= 80, `tls on an 80-column terminal: ${width(tls.out)}`);
  const http = await runBin(['http', CAP, '-k', KEYS], { tty: { columns: 80 } });
  assert.ok(width(http.out) <= 80, `http on an 80-column terminal: ${width(http.out)}`);
  const connsPipe = await runBin(['conns', CAP]);
  assert.ok(connsPipe.out.split('\n')[1]!.split('\t').length >= 12, 'conns in a pipe: tab-separated, whole');
});

test('7. one set of conventions: short options, --json on analyze, --format is the output format, the filter grammar named', async (t) => {
  const d = tmp(t);
  const out = join(d, 'r.json');
  const short = await runBin(['analyze', '-r', CAP, '-k', KEYS, '--alb-log', ALB, '-j', '-o', out]);
  assert.equal(short.code, 0, short.err);
  assert.equal(findings(readFileSync(out, 'utf8'))[0]!.kind, 'idle-timeout-reset');
  const json = await runBin([...BASE, '--json']);
  assert.deepEqual(findings(json.out), findings(readFileSync(out, 'utf8')));
  const both = await runBin([...BASE, '--json', '--format', 'html']);
  assert.equal(both.code, 2);
  const logs = await runBin(['logs', ALB, '--format', 'alb']);
  assert.equal(logs.code, 2);
  assert.match(oneLine(logs.err), /--format is the output format \(text, json\); for the input format say --log-format alb/);
  const logsOk = await runBin(['logs', ALB, '--log-format', 'alb', '--format', 'json']);
  assert.equal(logsOk.code, 0, logsOk.err);
  assert.ok(JSON.parse(logsOk.out));
  const ws = await runBin(['read', CAP, '--filter', 'tcp.port == 80 && tcp.flags.reset == 1']);
  const bpf = await runBin(['read', CAP, '-f', 'tcp and port 80 and rst']);
  assert.equal(ws.code, 0, ws.err);
  assert.equal(ws.out, bpf.out);
  assert.match(ws.out, /\[RST/);
  const unknown = await runBin(['read', CAP, '--filter', 'http.request.method == "GET"']);
  assert.equal(unknown.code, 2);
  assert.match(oneLine(unknown.err), /the Wireshark field 'http\.request\.method' is not known here; known: ip\.addr, .*tcpdump-style words/);
  const help = await runBin(['read', '--help']);
  assert.match(help.out, /tcpdump-style capture-filter words \(not Wireshark's display\nfilter language\)/);
});

test('8. --fail-on: exit 1 when a finding of that severity or worse is found, 0 otherwise; documented words only', async () => {
  assert.equal((await runBin([...BASE, '--fail-on', 'error'])).code, 1);
  assert.equal((await runBin([...BASE, '--fail-on', 'warning'])).code, 1);
  assert.equal((await runBin([...BASE, '--fail-on', 'never'])).code, 0);
  assert.equal((await runBin(BASE)).code, 0);
  const quiet = await runBin([...BASE, '--fail-on', 'error', '--around', '2026-11-25T20:00:00Z±1m']);
  assert.equal(quiet.code, 0, 'nothing in that window');
  const bad = await runBin([...BASE, '--fail-on', 'errors']);
  assert.equal(bad.code, 2);
  assert.match(oneLine(bad.err), /--fail-on wants error, warning, info, never; got 'errors' \(did you mean error\?\)/);
});

test('9. the incident window: --around, --since/--until, --client, --trace-id on analyze, logs, http and conns', async () => {
  const kinds = async (extra: string[]): Promise<string[]> => {
    const r = await runBin([...BASE, '--json', ...extra]);
    assert.equal(r.code, 0, r.err);
    return findings(r.out).map((f) => f.kind);
  };
  assert.deepEqual(await kinds(['--around', `${T502}±1m`]), ['idle-timeout-reset']);
  assert.deepEqual(await kinds(['--around', '2026-11-25T20:06:51Z+-5m']), []);
  assert.deepEqual(await kinds(['-S', '2026-11-25T21:06:50Z', '-U', '2026-11-25T21:06:52Z']), ['idle-timeout-reset']);
  assert.deepEqual(await kinds(['--since', '2026-11-25T21:07:00Z']), []);
  assert.deepEqual(await kinds(['--client', CLIENT]), ['idle-timeout-reset']);
  assert.deepEqual(await kinds(['--client', `${CLIENT}:51312`]), ['idle-timeout-reset']);
  assert.deepEqual(await kinds(['--client', '198.51.100.99']), []);
  assert.deepEqual(await kinds(['--trace-id', TRACE]), ['idle-timeout-reset']);
  assert.deepEqual(await kinds(['--trace-id', 'Root=1-6b074deb-000000000000000000000000']), []);
  const logs = await runBin(['logs', ALB, '--json', '--trace-id', TRACE]);
  const l = JSON.parse(logs.out) as { http: { requests: number; fiveXxCount: number } };
  assert.equal(l.http.requests, 1);
  assert.equal(l.http.fiveXxCount, 1);
  const logsBefore = await runBin(['logs', ALB, '--json', '--until', '2026-11-25T21:06:50Z']);
  assert.equal((JSON.parse(logsBefore.out) as { http: { fiveXxCount: number } }).http.fiveXxCount, 0);
  const http = await runBin(['http', CAP, '-k', KEYS, '--json', '--around', `${T502}±1s`]);
  const txs = http.out.trim().split('\n').map((x) => JSON.parse(x) as { path: string });
  assert.ok(txs.length >= 1 && txs.every((x) => x.path === '/api/checkout'), http.out);
  const conns = await runBin(['conns', CAP, '--json', '--client', `${CLIENT}:51312`]);
  assert.equal(conns.out.trim().split('\n').length, 1);
  const badTime = await runBin([...BASE, '--around', 'yesterday']);
  assert.equal(badTime.code, 2);
  assert.match(oneLine(badTime.err), /--around: not a time: 'yesterday' \(use ISO 8601/);
});

test('10. smaller items: completion, --status message, follow without a key, ARP, listen files by VNI and session', async (t) => {
  // Shell completion, run by bash itself.
  const script = (await runBin(['completion', 'bash'])).out;
  const complete = (words: string[]): string => {
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _mirrorlens; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(complete(['mirrorlens', 'ana']), 'analyze');
  assert.equal(complete(['mirrorlens', 'analyze', '--alb']), '--alb-log');
  assert.equal(complete(['mirrorlens', 'analyze', '--fail-on', 'w']), 'warning');
  const zsh = (await runBin(['completion', 'zsh'])).out;
  assert.match(zsh, /^#compdef mirrorlens/);
  assert.match(zsh, /'analyze\\:correlate captures/);
  assert.equal((await runBin(['completion', 'fish'])).code, 2);
  // --status names every class it takes.
  const st = await runBin(['http', CAP, '--status', '6xx']);
  assert.match(oneLine(st.err), /--status wants a status \(502\), a class \(1xx to 5xx\) or none/);
  // follow without a key shows the TLS records, as Wireshark does, and exits 1.
  const uid = (await runBin(['tls', CAP])).out.split('\n').find((l) => l.includes('no-key'))!.split('\t')[1]!;
  const f = await runBin(['follow', CAP, '--conn', uid]);
  assert.equal(f.code, 1);
  assert.match(f.out, /^Follow TLS stream \S+ \(.*\), TLS 1\.3, SNI alb\.mlab\.test, not decrypted \(no-key\): TLS records as captured\n=== client -> server, offset 0/);
  assert.match(f.out, /\\x16\\x03\\x01/, 'the ClientHello record header');
  // ARP is "not decoded", not an error.
  const arp = await runBin(['read', CAP, '-c', '1']);
  assert.match(arp.out, /ethertype=0x0806 \[EtherType not decoded \(not IP\)\]$/m);
  assert.doesNotMatch(arp.out, /!unsupported/);
  // A file written the way listen writes (one interface per mirror session, the VNI in its
  // description): vni N and point NAME select it; conns and http show the capture point.
  const d = tmp(t);
  const lf = join(d, 'listen.pcapng');
  const w = new PcapngWriter({ path: lf }, {});
  const itf = w.addInterface({ linkType: 1, name: 'alb-eni', description: "VXLAN VNI 77 (session alb-eni) from mirror source 10.0.1.5 (the mirrored ENI's primary IP); decapsulated by mirrorlens listen" });
  await readCapture(CAP, (rec) => w.writePacket(itf, rec.tsSec, rec.tsNsec, rec.data, rec.offset, rec.capturedLength, rec.originalLength));
  w.close();
  const all = (await runBin(['read', lf])).out.split('\n').filter(Boolean).length;
  assert.equal((await runBin(['read', lf, '-f', 'vni 77'])).out.split('\n').filter(Boolean).length, all);
  assert.equal((await runBin(['read', lf, '-f', 'vxlan.vni == 77'])).out.split('\n').filter(Boolean).length, all);
  assert.equal((await runBin(['read', lf, '-f', 'vni 78'])).out, '');
  assert.equal((await runBin(['read', lf, '-f', 'point alb-eni and rst'])).out.split('\n').filter(Boolean).length, 2);
  const c = await runBin(['conns', lf, '--json']);
  assert.ok(c.out.trim().split('\n').every((l) => (JSON.parse(l) as { capturePoint: string }).capturePoint === 'alb-eni'), c.out);
  const h = await runBin(['http', lf, '-k', KEYS]);
  assert.match(h.out.split('\n')[0]!, /point$/);
  assert.match(h.out, /alb-eni$/m);
});

test('10. smaller items: the HTML ladder names its gap and the idle time apart; evidence wraps at spaces; lab help', async () => {
  const html = await runBin([...BASE, '--format', 'html']);
  assert.equal(html.code, 0, html.err);
  assert.match(html.out, /connection idle 4\.91 s before the request \(4\.87 s between the events shown\)/);
  assert.doesNotMatch(html.out, />idle 4\.87 s</);
  assert.match(html.out, /\.evidence code\{white-space:pre-wrap;overflow-wrap:anywhere\}/);
  assert.doesNotMatch(html.out, /break-all/);
  const lab = await runBin(['lab', '--help']);
  assert.doesNotMatch(lab.out, /until listen is available/);
});

test("10. smaller items: listen's final summary is its last line on stderr", { timeout: 90_000 }, async (t) => {
  const d = tmp(t);
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), 'listen', '-o', join(d, 'cap'), '--bind', '127.0.0.1', '--vxlan-port', String(port), '--geneve-port', '0', '--status-seconds', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!/listen: writing /.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // a status line or two
    p.kill('SIGINT');
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    const lines = err.trim().split('\n');
    assert.match(lines[lines.length - 1]!, /^listen: stopped by SIGINT: \d+ packets written/, err);
  } finally {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});
