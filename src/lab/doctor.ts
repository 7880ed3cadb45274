/**
 * `lab doctor` (what the lab needs and the apt-get line for what is missing) and `lab clean`
 * (namespaces, their processes and temp dirs left by a lab run that was killed).
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from './proc.js';
import { NS_PREFIX, labNamespaces } from './topology.js';

export interface DoctorItem {
  what: string;
  ok: boolean;
  detail: string;
  /** Debian package that provides it. */
  pkg?: string;
}

const TOOLS: { cmd: string; args: string[]; pkg: string; need?: RegExp; needText?: string }[] = [
  { cmd: 'ip', args: ['-V'], pkg: 'iproute2' },
  { cmd: 'tc', args: ['-V'], pkg: 'iproute2' },
  { cmd: 'ss', args: ['-V'], pkg: 'iproute2' },
  { cmd: 'iptables', args: ['-V'], pkg: 'iptables' },
  { cmd: 'sysctl', args: ['-V'], pkg: 'procps' },
  { cmd: 'ethtool', args: ['--version'], pkg: 'ethtool' },
  { cmd: 'nginx', args: ['-V'], pkg: 'nginx-light', need: /http_ssl_module[\s\S]*http_v2_module|http_v2_module[\s\S]*http_ssl_module/, needText: 'built with http_ssl_module and http_v2_module' },
  { cmd: 'curl', args: ['-V'], pkg: 'curl', need: /Features:.*HTTP2/, needText: 'with HTTP2 support' },
  { cmd: 'openssl', args: ['version'], pkg: 'openssl' },
  { cmd: 'tcpdump', args: ['--version'], pkg: 'tcpdump' },
  { cmd: 'tshark', args: ['-v'], pkg: 'tshark' },
  { cmd: 'editcap', args: ['-V'], pkg: 'wireshark-common' },
  { cmd: 'mergecap', args: ['-V'], pkg: 'wireshark-common' },
];

export async function doctor(): Promise<DoctorItem[]> {
  const items: DoctorItem[] = [];
  const root = process.getuid?.() === 0;
  items.push({ what: 'root', ok: root, detail: root ? 'running as root' : 'the lab needs root (network namespaces): run it with sudo' });
  for (const t of TOOLS) {
    const r = await exec(t.cmd, t.args, { allowFail: true, timeoutMs: 10_000 }).catch(() => null);
    const text = r ? `${r.stdout}\n${r.stderr}` : '';
    const found = r !== null && r.code !== 127;
    const good = found && (!t.need || t.need.test(text));
    const first = text.trim().split('\n')[0] ?? '';
    items.push({ what: t.cmd, ok: good, detail: !found ? 'not found' : good ? first.slice(0, 80) : `found but not ${t.needText}`, pkg: t.pkg });
  }
  if (root) {
    const name = `${NS_PREFIX}doctor${process.pid}`;
    const add = await exec('ip', ['netns', 'add', name], { allowFail: true }).catch(() => null);
    let ok = add?.code === 0;
    let detail = ok ? 'can create network namespaces' : `cannot create a network namespace: ${add?.stderr.trim() ?? 'ip missing'}`;
    if (ok) {
      const vx = await exec('ip', ['link', 'add', 'vxt', 'type', 'vxlan', 'id', '1', 'remote', '10.9.9.2', 'dstport', '4789'], { ns: name, allowFail: true });
      const ct = await exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP'], { ns: name, allowFail: true });
      if (vx.code !== 0) {
        ok = false;
        detail = `kernel VXLAN unavailable: ${vx.stderr.trim()}`;
      } else if (ct.code !== 0) {
        ok = false;
        detail = `iptables conntrack match unavailable: ${ct.stderr.trim()}`;
      } else detail = 'network namespaces, VXLAN devices and conntrack work';
      await exec('ip', ['netns', 'del', name], { allowFail: true });
    }
    items.push({ what: 'kernel', ok, detail });
  }
  return items;
}

export function aptLine(items: readonly DoctorItem[]): string | null {
  const pkgs = [...new Set(items.filter((i) => !i.ok && i.pkg).map((i) => i.pkg!))];
  return pkgs.length ? `apt-get install -y --no-install-recommends ${pkgs.join(' ')}` : null;
}

export interface CleanReport {
  namespaces: string[];
  processes: number[];
  tempDirs: string[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what lab runs left behind: namespaces named `mlab*` (their processes are ended first,
 * by pid, as `ip netns pids` lists them) and `mlab<pid>-*` temp dirs, except those of a run
 * whose lab process is still alive (unless `all`).
 */
export async function clean(prefix = NS_PREFIX, opts: { all?: boolean } = {}): Promise<CleanReport> {
  const rep: CleanReport = { namespaces: [], processes: [], tempDirs: [] };
  for (const ns of await labNamespaces(prefix)) {
    // A run in progress (its lab process alive) is left alone unless `all`.
    const owner = /^mlab(\d+)-[0-9a-f]{3}-/.exec(ns);
    if (owner && !opts.all && Number(owner[1]) !== process.pid && alive(Number(owner[1]))) continue;
    const r = await exec('ip', ['netns', 'pids', ns], { allowFail: true });
    const pids = r.stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        rep.processes.push(pid);
      } catch {
        /* gone */
      }
    }
    await exec('ip', ['netns', 'del', ns], { allowFail: true });
    rep.namespaces.push(ns);
  }
  const tmp = tmpdir();
  for (const name of readdirSync(tmp)) {
    const m = /^mlab(\d+)-[0-9a-f]{3}-/.exec(name);
    if (!m || !name.startsWith(prefix)) continue;
    if (!opts.all && Number(m[1]) !== process.pid && alive(Number(m[1]))) continue;
    rmSync(join(tmp, name), { recursive: true, force: true });
    rep.tempDirs.push(join(tmp, name));
  }
  return rep;
}
