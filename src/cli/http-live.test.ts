// Real peers: nginx (HTTP/1.1 and HTTPS with HTTP/2) answers curl, which reuses its connections
// and writes its TLS keys (SSLKEYLOGFILE); tcpdump captures their traffic; `mirrorlens http
// --keylog` reads the capture. Checked against what curl did and against tshark on the same capture
// with the same keys. Everything runs on the loopback of a network namespace the test creates and
// removes (packet capture on the host's own loopback is not available everywhere). Skips when a
// tool or root is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from './main.js';
import type { HttpTransaction } from '../http/transaction.js';

const tools = ['nginx', 'curl', 'tcpdump', 'openssl', 'tshark', 'ip'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const root = process.getuid?.() === 0;
const skip = missing.length > 0 ? `missing ${missing.join(', ')}` : !root ? 'network namespaces need root' : false;
const NS = `mlhttp-${process.pid}`;

function waitFor(proc: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${buf}`)), ms);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited ${code}: ${buf}`));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  // (cmd, args) may come from inNs()
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 30000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.status} ${r.stderr}`);
  return r.stdout;
}

test('curl → nginx in a network namespace (HTTP/1.1 keep-alive, HTTPS + HTTP/2 with curl\'s key log): transactions as curl made them and as tshark sees them', { skip, timeout: 90000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-http-live-'));
  let nginx: ChildProcess | null = null;
  let dump: ChildProcess | null = null;
  try {
    const [p1, p2] = [8080, 8443];
    run('ip', ['netns', 'add', NS]);
    run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    const inNs = (cmd: string, args: string[]): [string, string[]] => ['ip', ['netns', 'exec', NS, cmd, ...args]];
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir}; keepalive_timeout 30;
  server {
    listen 127.0.0.1:${p1}; listen 127.0.0.1:${p2} ssl http2;
    ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem;
    location = /a { return 200 "hello\\n"; }
    location = /post { return 201 "created\\n"; }
    location / { return 404; }
  }
}
`,
    );
    nginx = spawn(...inNs('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]), { stdio: ['ignore', 'ignore', 'pipe'] });
    for (let i = 0; i < 50 && spawnSync(...inNs('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${p1}/ready`])).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    const cap = join(dir, 'cap.pcap');
    dump = spawn(...inNs('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-B', '65536', '-w', cap, `tcp port ${p1} or tcp port ${p2}`]), { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitFor(dump, /listening on/, 10000);
    // One connection, three requests (curl --next reuses it).
    run(...inNs('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${p1}/a`, '--next', '-s', '-o', '/dev/null', `http://127.0.0.1:${p1}/missing`, '--next', '-s', '-o', '/dev/null', '-d', 'x=1', `http://127.0.0.1:${p1}/post`]));
    // HTTPS + HTTP/2, two streams on one connection; curl writes the TLS secrets.
    const keys = join(dir, 'keys.log');
    run(...inNs('curl', ['-sk', '--http2', '--resolve', `localhost:${p2}:127.0.0.1`, '-o', '/dev/null', `https://localhost:${p2}/a`, '-o', '/dev/null', `https://localhost:${p2}/nope`]), { ...process.env, SSLKEYLOGFILE: keys });
    // tcpdump hands packets to user space in blocks: give it time before stopping it.
    await new Promise((r) => setTimeout(r, 1000));
    dump.kill('SIGINT');
    await new Promise((r) => dump!.once('exit', r));
    dump = null;
    assert.ok(existsSync(keys), 'curl wrote no key log');

    let out = '';
    let err = '';
    const io = {
      stdout: new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }),
      stderr: new Writable({ write: (c: Buffer, _e, cb) => ((err += c.toString()), cb()) }),
      env: {},
    };
    assert.equal(await main(['http', cap, '--keylog', keys, '--json'], io), 0, err);
    const txs = out.trim().split('\n').map((l) => JSON.parse(l) as HttpTransaction);
    const plain = txs.filter((t) => t.server.endsWith(`:${p1}`)).sort((a, b) => a.requestIndexOnConnection - b.requestIndexOnConnection);
    assert.deepEqual(plain.map((t) => [t.httpVersion, t.method, t.path, t.status, t.requestIndexOnConnection, t.outcome]), [
      ['1.1', 'GET', '/a', 200, 1, 'complete'],
      ['1.1', 'GET', '/missing', 404, 2, 'complete'],
      ['1.1', 'POST', '/post', 201, 3, 'complete'],
    ], out);
    assert.equal(plain[2]!.requestBodyBytes, 3);
    assert.equal(plain[0]!.responseBodyBytes, 6);
    assert.equal(new Set(plain.map((t) => t.connUid)).size, 1);
    assert.ok(plain[1]!.idleBeforeRequestSeconds !== null && plain[1]!.idleBeforeRequestSeconds >= 0);
    const h2 = txs.filter((t) => t.server.endsWith(`:${p2}`)).sort((a, b) => a.streamId! - b.streamId!);
    assert.deepEqual(h2.map((t) => [t.httpVersion, t.scheme, t.authority, t.method, t.path, t.status, t.streamId, t.outcome]), [
      ['2', 'https', `localhost:${p2}`, 'GET', '/a', 200, 1, 'complete'],
      ['2', 'https', `localhost:${p2}`, 'GET', '/nope', 404, 3, 'complete'],
    ], `${out}\n${err}`);
    assert.equal(h2[0]!.requestHeaders['user-agent']?.startsWith('curl/'), true);

    // tshark on the same capture with the same keys.
    const fields = (filter: string, f: string[]): string[] =>
      run('tshark', ['-r', cap, '-o', `tls.keylog_file:${keys}`, '-d', `tcp.port==${p1},http`, '-Y', filter, '-T', 'fields', ...f.flatMap((x) => ['-e', x])])
        .split('\n')
        .filter((l) => l.trim())
        .flatMap((l) => l.split('\t').filter((x) => x).join(' ').split(','));
    const ref = [...fields('http.request', ['http.request.method', 'http.request.uri']), ...fields('http2.type==1 && http2.headers.method', ['http2.headers.method', 'http2.headers.path'])];
    assert.deepEqual(txs.map((t) => `${t.method} ${t.path}`).sort(), ref.map((s) => s.trim()).sort());
  } finally {
    if (dump) dump.kill('SIGINT');
    if (nginx) nginx.kill('SIGQUIT');
    await new Promise((r) => setTimeout(r, 200));
    spawnSync('sh', ['-c', `ip netns pids ${NS} 2>/dev/null | xargs -r kill -9; ip netns del ${NS} 2>/dev/null`]);
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  }
});
