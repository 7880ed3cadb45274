/**
 * Test harness: a real S3-compatible server (s3rver, in a child process on a free loopback port)
 * behind a recording forwarder, so tests see exactly which requests reached the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent (path-style: /bucket/key?...). */
  url: string;
}

export interface S3TestServer {
  /** The endpoint to give mirrorlens (the recording forwarder). */
  endpoint: string;
  /** Requests that reached the server, in order. */
  requests: RecordedRequest[];
  /** Environment for a child or in-process run: endpoint, test credentials, region. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export const TEST_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3Server(): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', join(import.meta.dirname, 's3rver-child.mjs'), dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('s3rver did not start within 30 s')), 30_000);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve((JSON.parse(l) as { port: number }).port);
    });
    child.once('exit', (c) => reject(new Error(`s3rver exited with ${c}`)));
  });
  const requests: RecordedRequest[] = [];
  const forwarder = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
  const fport = (forwarder.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${fport}`;
  return {
    endpoint,
    requests,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: TEST_KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_KEY.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    async stop() {
      await new Promise<void>((r) => forwarder.close(() => r()));
      forwarder.closeAllConnections();
      child.kill('SIGTERM');
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
