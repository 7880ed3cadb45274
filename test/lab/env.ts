// When the lab's end-to-end tests can run: root, network namespaces, and the tools it drives.
import { spawnSync } from 'node:child_process';

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

/** A reason to skip, or false when the lab can run here. */
export function labSkipReason(): string | false {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, tc, iptables): CI runs as root';
  const name = `mlabprobe${process.pid}`;
  if (!works('ip', ['netns', 'add', name])) return 'cannot create network namespaces here (ip netns add failed)';
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  for (const [cmd, args] of [['nginx', ['-v']], ['curl', ['-V']], ['tshark', ['-v']], ['tcpdump', ['--version']], ['iptables', ['-V']], ['openssl', ['version']], ['ethtool', ['--version']]] as const) {
    if (!works(cmd, [...args])) return `${cmd} is not installed (mirrorlens lab doctor says how to install it; .ci/run does)`;
  }
  return false;
}
