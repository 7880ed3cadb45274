// Every bad S3 input is one clear line naming the URL, a non-zero exit and no stack trace: the real
// CLI (a child process, so that the SDK's credential chain sees only the environment given here)
// against a real S3-compatible server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, TEST_KEY, type S3TestServer } from './s3-server.js';

const CLI = join(import.meta.dirname, '../listen/cli.ts');
let server: S3TestServer;
let home: string;

before(async () => {
  server = await startS3Server();
  home = mkdtempSync(join(tmpdir(), 'ml-aws-home-'));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const c = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: TEST_KEY });
  await c.send(new CreateBucketCommand({ Bucket: 'logs' }));
  await c.send(new CreateBucketCommand({ Bucket: 'empty' }));
  await c.send(new PutObjectCommand({ Bucket: 'logs', Key: 'alb/one.log.gz', Body: gzipSync('not a log line\n') }));
  c.destroy();
});

after(async () => {
  await server.stop();
  rmSync(home, { recursive: true, force: true });
});

/** A clean environment: no credentials or config from this machine, no instance metadata. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'none-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function oneLine(r: { err: string }, re: RegExp): void {
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.err}`);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.err, /\n\s+at |Error: |S3RVER/);
}

test('bad S3 inputs: one line naming the URL, non-zero exit, no stack trace', async () => {
  const good = { ...server.env };
  const down = await closedPort();
  const cases: { args: string[]; env: NodeJS.ProcessEnv; code: number; re: RegExp }[] = [
    { args: ['logs', 's3://no-such-bucket/alb/'], env: cleanEnv(good), code: 6, re: /^mirrorlens logs: s3:\/\/no-such-bucket\/alb\/: no such bucket 'no-such-bucket'$/ },
    { args: ['logs', 's3://empty/'], env: cleanEnv(good), code: 6, re: /^mirrorlens logs: s3:\/\/empty\/: no objects under this prefix$/ },
    {
      args: ['logs', 's3://logs/alb/'],
      env: cleanEnv({ ...good, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' }),
      code: 6,
      re: /^mirrorlens logs: s3:\/\/logs\/alb\/: the AWS access key id is not known to this endpoint \(InvalidAccessKeyId\)$/,
    },
    {
      args: ['logs', 's3://logs/alb/'],
      env: cleanEnv({ ...good, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${down}` }),
      code: 6,
      re: new RegExp(`^mirrorlens logs: s3://logs/alb/: cannot reach http://127\\.0\\.0\\.1:${down} \\(connection refused\\) during HeadBucket$`),
    },
    {
      args: ['logs', 's3://logs/alb/'],
      env: cleanEnv({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: 'us-east-1' }),
      code: 6,
      re: /^mirrorlens logs: s3:\/\/logs\/alb\/: no AWS credentials found \(set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role is available\)$/,
    },
    { args: ['logs', 's3://'], env: cleanEnv(good), code: 2, re: /^mirrorlens logs: s3:\/\/: '' is not a valid bucket name/ },
    { args: ['logs', 's3:/logs/alb/'], env: cleanEnv(good), code: 3, re: /^mirrorlens logs: s3:\/logs\/alb\/: cannot open: no such file or directory$/ },
    { args: ['analyze', '--alb-log', 's3://no-such-bucket/'], env: cleanEnv(good), code: 6, re: /^mirrorlens analyze: s3:\/\/no-such-bucket\/: no such bucket 'no-such-bucket'$/ },
  ];
  const results = await Promise.all(cases.map((c) => run(c.args, c.env)));
  results.forEach((r, i) => {
    const c = cases[i]!;
    assert.equal(r.code, c.code, `${c.args.join(' ')}: exit ${r.code}\n${r.err}`);
    oneLine(r, c.re);
  });
});
