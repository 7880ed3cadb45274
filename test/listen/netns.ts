/**
 * Network namespaces for end-to-end tests: created with unique names, always removed (also when
 * a test fails). Needs root; `netnsAvailable()` says whether we can.
 */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message}`);
  }
  return r.stdout;
}

/** Why network namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  const name = `mlprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.error) return `iproute2 is missing: ${r.error.message}`;
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', name]);
  return null;
}

export class Netns {
  private readonly created: string[] = [];
  private readonly children: ChildProcess[] = [];

  /** Creates a namespace with lo up; the name gets a unique suffix. */
  add(base: string): string {
    const name = `${base}${process.pid}`;
    spawnSync('ip', ['netns', 'del', name]);
    sh('ip', ['netns', 'add', name]);
    this.created.push(name);
    this.exec(name, 'ip', ['link', 'set', 'lo', 'up']);
    // A quiet namespace: no IPv6 router solicitations from interfaces created later.
    for (const k of ['all', 'default']) {
      this.exec(name, 'sh', ['-c', `echo 0 > /proc/sys/net/ipv6/conf/${k}/router_solicitations; echo 0 > /proc/sys/net/ipv6/conf/${k}/accept_ra`], { allowFail: true });
    }
    return name;
  }

  exec(ns: string, cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** Starts a long-running process inside `ns`; killed in cleanup() if still running. */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(c);
    return c;
  }

  /** Kills leftover children (by their own pid) and deletes every namespace created. */
  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const n of this.created.reverse()) spawnSync('ip', ['netns', 'del', n]);
    this.created.length = 0;
  }
}

/** Resolves with the accumulated stream text once it matches `re` (rejects after `ms`). */
export function waitFor(stream: NodeJS.ReadableStream, re: RegExp, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const t = setTimeout(() => {
      stream.off('data', on);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}; got: ${text.slice(-2000)}`));
    }, ms);
    const on = (d: Buffer): void => {
      text += d.toString();
      if (re.test(text)) {
        clearTimeout(t);
        stream.off('data', on);
        resolve(text);
      }
    };
    stream.on('data', on);
  });
}

/** Collects everything a stream writes (for after the process exited). */
export function collect(stream: NodeJS.ReadableStream): { text: string } {
  const box = { text: '' };
  stream.on('data', (d: Buffer) => (box.text += d.toString()));
  return box;
}

export function exited(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`process ${c.pid} did not exit within ${ms} ms`)), ms);
    c.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
