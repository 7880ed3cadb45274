/**
 * Live test: node:tls server and client over loopback, every TLS 1.2 and TLS 1.3 cipher suite this
 * Node.js build offers (ECDSA and RSA certificates, ECDHE/DHE/RSA key exchange), captured with
 * tcpdump, keys from the client's 'keylog' event. The capture goes through the real pipeline
 * (processCaptures → createAppSink) and every byte each side sent must come out decrypted.
 * Also: a TLS 1.2 session resumed by ticket whose own key line is withheld (decrypts with the
 * master secret learned from the first connection). Needs root (tcpdump) and openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { StreamSink } from '../../src/flow/stream.js';
import { processCaptures } from '../../src/flow/pipeline.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { createAppSink, type AppSink } from '../../src/tls/sniff.js';

function can(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = process.getuid?.() !== 0 ? 'needs root for tcpdump' : !can('tcpdump', ['--version']) ? 'tcpdump missing' : !can('openssl', ['version']) ? 'openssl missing' : false;

interface Exchange {
  cipher: string;
  version: string;
  clientPort: number;
  toServer: Buffer;
  toClient: Buffer;
  resumed: boolean;
}

function makeCert(dir: string, kind: 'ec' | 'rsa'): { key: Buffer; cert: Buffer } {
  const key = join(dir, `${kind}.key`);
  const cert = join(dir, `${kind}.crt`);
  const alg = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...alg, '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** tcpdump on loopback with a 64 MiB kernel buffer: a busy machine (other tests in parallel) made it drop packets with the default 2 MiB. */
async function startCapture(file: string, port: number): Promise<() => Promise<void>> {
  const p = spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-B', '65536', '-s', '0', '-w', file, 'tcp', 'port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return async () => {
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    const dropped = /(\d+) packets? dropped by kernel/.exec(err);
    assert.equal(dropped?.[1] ?? '0', '0', `tcpdump: ${err}`);
  };
}

/** One connection: client sends `toServer`, server answers `toClient`, client closes. */
function exchange(port: number, opts: tls.ConnectionOptions, keylog: string[], size: number): Promise<Exchange & { session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const toServer = Buffer.concat([Buffer.from(`HELLO ${size}\n`), randomBytes(size)]);
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    let session: Buffer | undefined;
    s.on('session', (b: Buffer) => (session = b));
    s.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
    const got: Buffer[] = [];
    let clientPort = 0;
    s.on('connect', () => (clientPort = s.localPort ?? 0));
    let resumed = false;
    let cipher = '?';
    let version = '?';
    s.on('secureConnect', () => {
      resumed = s.isSessionReused();
      cipher = s.getCipher()?.standardName ?? '?';
      version = s.getProtocol() ?? '?';
      s.write(toServer);
    });
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', reject);
    s.on('close', () => {
      resolve({
        cipher, version, clientPort, toServer, toClient: Buffer.concat(got), resumed, session,
      });
    });
  });
}

test('live loopback capture: every TLS 1.2 and 1.3 suite node:tls offers decrypts byte-exact', { skip, timeout: 120_000 }, async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-tls-live-'));
  const servers: tls.Server[] = [];
  try {
    const ec = makeCert(dir, 'ec');
    const rsa = makeCert(dir, 'rsa');
    const all = tls.getCiphers().map((c) => c.toUpperCase());
    const tls13 = all.filter((c) => c.startsWith('TLS_'));
    const tls12 = all.filter((c) => !c.startsWith('TLS_') && !/PSK|SRP/.test(c));
    const server = tls.createServer(
      { key: [ec.key, rsa.key] as unknown as Buffer, cert: [ec.cert, rsa.cert] as unknown as Buffer, minVersion: 'TLSv1.2', ciphers: [...tls13, ...tls12].join(':'), dhparam: 'auto' },
      (sock) => {
        const chunks: Buffer[] = [];
        sock.on('data', (d: Buffer) => {
          chunks.push(d);
          const all = Buffer.concat(chunks);
          const nl = all.indexOf(10);
          if (nl < 0) return;
          const want = Number(all.subarray(6, nl).toString()) + nl + 1;
          if (all.length >= want) sock.end(Buffer.concat([Buffer.from(`OK ${all.length}\n`), all.subarray(0, 64), randomBytes(3000)]));
        });
        sock.on('error', () => {});
      },
    );
    servers.push(server);
    server.setMaxListeners(0);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const pcap = join(dir, 'live.pcap');
    const stop = await startCapture(pcap, port);
    const keylog: string[] = [];
    const done: Exchange[] = [];
    const failed: string[] = [];
    try {
      let size = 100;
      for (const c of tls13) {
        const r = await exchange(port, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: c }, keylog, (size += 3000)).catch((e: Error) => (failed.push(`${c}: ${e.message}`), null));
        if (r) done.push(r);
      }
      for (const c of tls12) {
        const r = await exchange(port, { maxVersion: 'TLSv1.2', ciphers: c }, keylog, (size = (size + 1777) % 40000)).catch((e: Error) => (failed.push(`${c}: ${e.message}`), null));
        if (r) done.push(r);
      }
      // TLS 1.2 resumption by ticket; its own key line is then withheld from the key log.
      const first = await exchange(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, keylog, 500);
      done.push(first);
      const before = keylog.length;
      const resumed = await exchange(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', session: first.session }, keylog, 700);
      assert.equal(resumed.resumed, true, 'the second TLS 1.2 connection resumed');
      keylog.splice(before);
      done.push(resumed);
    } finally {
      await stop();
    }
    assert.ok(done.length >= 5 + 20, `connections made: ${done.length}; failed: ${failed.join('; ')}`);
    assert.deepEqual(new Set(done.filter((d) => d.version === 'TLSv1.3').map((d) => d.cipher)).size, 5, 'all five TLS 1.3 suites');

    ctx.diagnostic(`${done.length} connections (${new Set(done.map((d) => d.cipher)).size} suites); handshakes that failed: ${failed.length ? failed.join('; ') : 'none'}`);
    const keys = new KeyLog();
    assert.deepEqual(keys.addText(keylog.join(''), 'node keylog'), []);
    // Ephemeral ports may repeat across the 34 connections: keep every connection per port, in order.
    const byPort = new Map<number, { sink: AppSink; parts: [Buffer[], Buffer[]] }[]>();
    await processCaptures([pcap], {
      onConnectionStart(conn) {
        const parts: [Buffer[], Buffer[]] = [[], []];
        const plain: StreamSink = { data: (d, b, o, l) => void parts[d].push(Buffer.from(b.subarray(o, o + l))), gap() {}, end() {} };
        const sink = createAppSink(conn, keys, () => plain);
        const list = byPort.get(conn.clientPort) ?? [];
        list.push({ sink, parts });
        byPort.set(conn.clientPort, list);
        return sink;
      },
    });
    for (const d of done) {
      const got = byPort.get(d.clientPort)?.shift();
      assert.ok(got, `connection from port ${d.clientPort} (${d.cipher}) captured`);
      const t = got.sink.tls!;
      assert.equal(t.cipherSuite?.name, d.cipher, `suite of port ${d.clientPort}`);
      assert.equal(t.notDecryptedReason, null, `${d.version} ${d.cipher}: ${t.problems.join('; ')}`);
      assert.ok(Buffer.concat(got.parts[0]).equals(d.toServer), `${d.version} ${d.cipher}: client→server bytes`);
      assert.ok(Buffer.concat(got.parts[1]).equals(d.toClient), `${d.version} ${d.cipher}: server→client bytes`);
      if (d.resumed) assert.equal(t.resumedBy, 'ticket');
    }
  } finally {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
