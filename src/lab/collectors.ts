/**
 * The lab's mirror targets: `mirrorlens listen` in the collector namespace, one per mirror set
 * being tried. The `all` collector (VXLAN port 4789) gets every session and is the lab's own
 * complete record (the facts are checked on it, the flow log is written from it); a collector per
 * other set (`lb`: the ALB's two interfaces; `target`: the target's ENI) gets only that set's
 * sessions on a port of its own, exactly what a user who mirrored only those ENIs would have.
 * With `live`, each also analyzes as it receives (`--analyze-json`): every finding line is kept
 * with the time it was printed.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { mirrorlensArgv } from './assets.js';
import { exec, sleep, type Daemon, type ProcessGroup } from './proc.js';
import { MIRROR_SESSIONS, sessionsOf, type MirrorSet, type MirrorTarget } from './topology.js';

/** One finding printed by `listen --analyze-json`, and when (epoch seconds). */
export interface LiveFinding {
  printedAt: number;
  finding: unknown;
}

export interface Collector {
  set: MirrorSet;
  port: number;
  dir: string;
  daemon: Daemon;
  live: LiveFinding[];
}

/** The VXLAN port of each set's collector: 4789 for `all`, the others after it. */
export function portOf(set: MirrorSet, sets: readonly MirrorSet[]): number {
  if (set === 'all') return 4789;
  return 4790 + sets.filter((s) => s !== 'all').indexOf(set);
}

export function mirrorTargets(sets: readonly MirrorSet[]): MirrorTarget[] {
  return sets.map((set) => ({ port: portOf(set, sets), vnis: sessionsOf(set).map((m) => m.vni) }));
}

/** The directory a set's capture goes to: `capture/` for all, `mirror-SET/` for the others. */
export function captureDirOf(outDir: string, set: MirrorSet): string {
  return set === 'all' ? join(outDir, 'capture') : join(outDir, `mirror-${set}`);
}

async function waitForUdp(ns: string, port: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const r = await exec('ss', ['-Hlnu', `sport = :${port}`], { ns, allowFail: true });
    if (r.stdout.trim()) return;
    await sleep(50);
  }
  throw new Error(`mirrorlens listen is not listening on UDP ${port} after ${timeoutMs} ms`);
}

export async function startCollectors(procs: ProcessGroup, ns: string, outDir: string, sets: readonly MirrorSet[], keylog: string, live: boolean): Promise<Collector[]> {
  const out: Collector[] = [];
  for (const set of sets) {
    const dir = captureDirOf(outDir, set);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
    const port = portOf(set, sets);
    const sessions = (set === 'all' ? MIRROR_SESSIONS : sessionsOf(set)).flatMap((m) => ['--session', `${m.vni}=${m.name}`]);
    const args = ['listen', '--out', dir, '--keylog', keylog, '--vxlan-port', String(port), '--geneve-port', '0', ...sessions];
    if (live) args.push('--analyze-json', '--status-seconds', '0');
    const found: LiveFinding[] = [];
    let pending = '';
    const daemon = procs.start(`mirrorlens listen ${set}`, process.execPath, mirrorlensArgv(args), {
      ns,
      onStdout: (chunk) => {
        const at = Date.now() / 1000;
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          try {
            found.push({ printedAt: at, finding: JSON.parse(line) as unknown });
          } catch {
            /* not a finding line */
          }
        }
      },
    });
    out.push({ set, port, dir, daemon, live: found });
  }
  for (const c of out) await waitForUdp(ns, c.port, 20_000);
  return out;
}

/** Stops every collector (flushing its files) and lists each set's capture files. */
export async function stopCollectors(procs: ProcessGroup, collectors: readonly Collector[]): Promise<{ summary: string; files: Partial<Record<MirrorSet, string[]>> }> {
  const files: Partial<Record<MirrorSet, string[]>> = {};
  const summaries: string[] = [];
  for (const c of collectors) {
    await procs.stop(c.daemon, 'SIGTERM', 10_000);
    const line = c.daemon.stderr().split('\n').find((l) => l.startsWith('listen: stopped by'));
    summaries.push(collectors.length > 1 ? `${c.set}: ${line ?? '?'}` : line ?? '');
    files[c.set] = readdirSync(c.dir).filter((f) => f.endsWith('.pcapng')).sort().map((f) => join(c.dir, f));
  }
  return { summary: summaries.join(' | '), files };
}
