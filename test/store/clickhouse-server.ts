/**
 * A real ClickHouse server for tests: Debian's clickhouse-server started in a temporary directory
 * on a free loopback port, stopped (and its directory removed) after. `stop()` and `start()` again
 * keep the data, for the fault tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find((p) => existsSync(p)) ?? null;

/** Why the tests cannot run here, or null. */
export function clickHouseMissing(): string | null {
  if (!BINARY) return 'clickhouse-server is not installed (.ci/run installs it)';
  return null;
}

export function clickHouseBinaryVersion(): string {
  if (!BINARY) return 'none';
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  return (r.stdout || r.stderr).trim().split('\n')[0] ?? 'unknown';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export class ClickHouseServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'mirrorlens-ch-'));
  port = 0;
  private proc: ChildProcess | null = null;

  /** Started and not stopped or killed since. */
  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null;
  }

  get url(): string {
    return `clickhouse://127.0.0.1:${this.port}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, after stop or kill: same port, same data); a port still held by the old process is retried. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (e) {
        if (attempt >= 3 || !/exited/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (!BINARY) throw new Error(clickHouseMissing()!);
    if (this.port === 0) this.port = await freePort();
    const tcp = await freePort();
    const d = this.dir;
    writeFileSync(
      join(d, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${d}/server.log</log><errorlog>${d}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${this.port}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
</yandex>
`,
    );
    writeFileSync(
      join(d, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
    this.proc = spawn(BINARY, [`--config-file=${join(d, 'config.xml')}`], { cwd: d, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.proc.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-2000);
      this.stderrText = (this.stderrText + b.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((r) => this.proc!.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const done = await Promise.race([exited.then((c) => ({ exit: c })), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (done) throw new Error(`clickhouse-server exited (${done.exit}) while starting: ${err.trim().split('\n').pop() ?? ''}`);
      try {
        // Bounded: a server that took the connection but does not answer is "not yet", not a hang.
        const r = await fetch(`${this.httpUrl}/ping`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error('clickhouse-server did not answer within 60 s');
    }
  }

  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }

  /** Stops at once, as a crash or a pulled cable would (no flush). */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  }

  /** Runs a query over HTTP (TabSeparated text back). */
  async query(sql: string, timeoutMs = 60_000): Promise<string> {
    const r = await fetch(`${this.httpUrl}/?query=${encodeURIComponent(sql)}`, { signal: AbortSignal.timeout(timeoutMs) });
    const t = await r.text();
    if (!r.ok) throw new Error(t);
    return t;
  }

  /** The last lines of the server's error log and of its stderr (for a test's failure message). */
  errorTail(n = 15): string {
    let log = '';
    try {
      log = readFileSync(join(this.dir, 'server.err.log'), 'utf8');
    } catch {
      /* none yet */
    }
    const tail = (t: string): string => t.trim().split('\n').slice(-n).join('\n');
    return `server.err.log:\n${tail(log) || '(empty)'}\nstderr:\n${tail(this.stderrText) || '(empty)'}`;
  }

  private stderrText = '';

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
