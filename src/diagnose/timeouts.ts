/**
 * Known idle timeouts of the hops an idle pooled connection crosses (aws-facts.md §6.2, §7), and
 * the matching of a measured idle time against them. The verdicts never depend on an exact value:
 * the measured idle time is reported, and every known timeout it is consistent with is named.
 */
import type { TimeoutFit } from './finding.js';

export interface KnownTimeout {
  name: string;
  /** Default, in seconds. */
  seconds: number;
  /** Configurable range, if any. */
  min?: number;
  max?: number;
  /** What to change, in words. */
  fix: string;
  /** 'middlebox': a stateful hop between the load balancer and its target that can forget a connection. */
  hop?: 'middlebox' | 'load-balancer' | 'target';
}

export const KNOWN_TIMEOUTS: readonly KnownTimeout[] = [
  {
    name: 'NLB TCP idle timeout',
    hop: 'middlebox',
    seconds: 350,
    min: 60,
    max: 6000,
    fix: 'the NLB listener attribute tcp.idle_timeout.seconds (60-6000 s; TLS listeners are fixed at 350 s)',
  },
  { name: 'NAT gateway idle timeout',
    hop: 'middlebox', seconds: 350, fix: 'none on the NAT gateway itself (fixed 350 s): keep connections busier than that' },
  { name: 'Gateway Load Balancer TCP idle timeout',
    hop: 'middlebox', seconds: 350, min: 60, max: 6000, fix: 'the GWLB listener tcp.idle_timeout.seconds attribute' },
  { name: 'AWS Network Firewall TCP idle timeout',
    hop: 'middlebox', seconds: 350, min: 60, max: 6000, fix: 'the firewall policy TcpIdleTimeoutSeconds' },
  { name: 'ALB idle timeout', hop: 'load-balancer', seconds: 60, min: 1, max: 4000, fix: 'the ALB attribute idle_timeout.timeout_seconds' },
];

/**
 * Which known timeouts a connection idle for `idleSeconds` and then found dead is consistent with.
 * "just-above": idle exceeded the default by at most 25 % (or 30 s); "within-range": idle lies in the
 * configurable range (a non-default setting could explain it). `learned` adds timeouts measured in
 * this capture (e.g. a target's keep-alive timeout learned from its FINs).
 */
export function fitTimeouts(idleSeconds: number, learned: readonly KnownTimeout[] = [], hop?: KnownTimeout['hop']): TimeoutFit[] {
  const out: TimeoutFit[] = [];
  for (const t of [...learned, ...KNOWN_TIMEOUTS]) {
    if (hop !== undefined && t.hop !== undefined && t.hop !== hop) continue;
    const slack = Math.max(t.seconds * 0.25, Math.min(30, t.seconds));
    if (idleSeconds >= t.seconds && idleSeconds <= t.seconds + slack) {
      out.push({ name: t.name, seconds: t.seconds, relation: 'just-above' });
    } else if (t.min !== undefined && t.max !== undefined && idleSeconds >= t.min && idleSeconds <= t.max && idleSeconds > t.seconds) {
      out.push({ name: t.name, seconds: t.seconds, relation: 'within-range' });
    }
  }
  return out;
}

/** "6 min 2 s", "350.2 s", "812 ms": for summaries. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 0.01) return `${(s * 1000).toFixed(2)} ms`;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  const r = total - m * 60;
  return `${m} min ${r} s (${total} s)`;
}

/** "the 350 s default of the NLB TCP idle timeout, NAT gateway idle timeout" — fits grouped by value. */
export function describeFits(fits: readonly TimeoutFit[]): string {
  const exact = fits.filter((f) => f.relation === 'just-above');
  const use = exact.length ? exact : fits;
  const byValue = new Map<number, string[]>();
  for (const f of use) byValue.set(f.seconds, [...(byValue.get(f.seconds) ?? []), f.name]);
  return [...byValue.entries()]
    .map(([sec, names]) => (exact.length ? `the ${sec} s ${names.join(' / ')}` : `a configured ${names.join(' / ')} (default ${sec} s)`))
    .join('; ');
}
