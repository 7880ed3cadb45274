/**
 * Running the lab's real processes: one-shot commands (ip, tc, iptables, sysctl, openssl, tshark)
 * and long-running ones (nginx, the target server, tcpdump, `mirrorlens listen`) inside network
 * namespaces. Every long-running process is registered with the run's ProcessGroup so teardown can
 * end exactly the processes this run started (by pid, never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run inside this network namespace (`ip netns exec NS ...`). */
  ns?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFail?: boolean;
  /** Kill the command after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Written to stdin (then closed); a promise: written when it resolves (the process is already running). */
  input?: string | Promise<string>;
}

function withNs(ns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, [...args]];
}

/** Runs a command to completion. Throws MirrorlensError (ML_LAB) naming the command on failure. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, argv] = withNs(opts.ns, cmd, args);
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(new MirrorlensError(ErrorCode.Lab, `cannot run ${cmd}: ${(e as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new MirrorlensError(ErrorCode.Lab, `cannot run ${cmd}: ${e.message}`));
    });
    const t0 = Date.now();
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (process.env.MIRRORLENS_LAB_TRACE) process.stderr.write(`lab exec ${Date.now() - t0} ms: ${opts.ns ? `[${opts.ns}] ` : ''}${cmd} ${args.join(' ')}\n`);
      const r: ExecResult = { code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (r.code !== 0 && !opts.allowFail) {
        const what = [cmd, ...args].join(' ');
        const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' / ');
        reject(new MirrorlensError(ErrorCode.Lab, `'${what}'${opts.ns ? ` in namespace ${opts.ns}` : ''} failed (exit ${r.code}${signal ? `, ${signal}` : ''}): ${why}`));
      } else resolve(r);
    });
    child.stdin!.on('error', () => {});
    if (typeof opts.input === 'string') child.stdin!.end(opts.input);
    else if (opts.input) opts.input.then((text) => child.stdin!.end(text), () => child.kill('SIGKILL'));
    else child.stdin!.end();
  });
}

export interface Daemon {
  name: string;
  child: ChildProcess;
  pid: number;
  /** All stderr so far (bounded to the last 64 KiB). */
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once `re` matches stdout or stderr, rejects on exit or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number): Promise<void>;
}

const KEEP = 64 * 1024;

/** The long-running processes of one lab run. `stopAll` ends each of them by its pid. */
export class ProcessGroup {
  readonly daemons: Daemon[] = [];

  /** `onStart` sees every daemon as it starts (a caller that wants their stderr when something hangs). */
  constructor(private readonly onStart?: (d: Daemon) => void) {}

  start(name: string, cmd: string, args: readonly string[], opts: { ns?: string; env?: NodeJS.ProcessEnv; cwd?: string; onStdout?: (chunk: string) => void } = {}): Daemon {
    const [file, argv] = withNs(opts.ns, cmd, args);
    // detached: own process group, so a Ctrl-C in the terminal reaches the lab (which then tears
    // down in order) rather than every child at once.
    const child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    const waiters: { re: RegExp; resolve: () => void }[] = [];
    const check = (): void => {
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.re.test(out) || w.re.test(err)) {
          waiters.splice(i, 1);
          w.resolve();
        }
      }
    };
    child.stdout!.on('data', (b: Buffer) => {
      opts.onStdout?.(b.toString('utf8'));
      out = (out + b.toString('utf8')).slice(-KEEP);
      check();
    });
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-KEEP);
      check();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: 127, signal: null }));
    });
    const d: Daemon = {
      name,
      child,
      pid: child.pid ?? -1,
      stderr: () => err,
      stdout: () => out,
      exited,
      waitFor: (re, timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          if (re.test(out) || re.test(err)) {
            resolve();
            return;
          }
          const timer = setTimeout(() => reject(new MirrorlensError(ErrorCode.Lab, `${name} did not become ready within ${timeoutMs} ms: ${lastLines(err || out)}`)), timeoutMs);
          waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
          void exited.then((x) => {
            clearTimeout(timer);
            reject(new MirrorlensError(ErrorCode.Lab, `${name} exited (${x.signal ?? `code ${x.code}`}) before it was ready: ${lastLines(err || out)}`));
          });
        }),
    };
    this.daemons.push(d);
    this.onStart?.(d);
    return d;
  }

  /** Sends `signal` to one daemon and waits up to `graceMs` for it to exit, then SIGKILLs it. */
  async stop(d: Daemon, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return;
    try {
      // `ip netns exec` execs the command, so the pid is the process itself.
      process.kill(d.pid, signal);
    } catch {
      return;
    }
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([d.exited, timer])) === 'timeout') {
      // The whole process group (started detached): a SIGKILLed nginx master leaves its workers
      // running, holding the daemon's stdout/stderr, so `exited` ('close') would never come.
      try {
        process.kill(-d.pid, 'SIGKILL');
      } catch {
        try {
          process.kill(d.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await d.exited;
    }
  }

  /** Stops every daemon still running, last started first. */
  async stopAll(): Promise<void> {
    for (const d of [...this.daemons].reverse()) await this.stop(d);
  }
}

export function lastLines(s: string, n = 3): string {
  const lines = s.trim().split('\n').filter(Boolean);
  return lines.slice(-n).join(' / ') || '(no output)';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
