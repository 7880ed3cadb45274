/**
 * The report's `scans`: every destination's connection attempts that carried no data (counted by
 * the Correlator, see correlate/syn-attempts.ts) said in one line each.
 */
import type { AttemptSummary } from '../correlate/syn-attempts.js';
import type { ReportScan } from './model.js';

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function plural(x: number, one: string, many = `${one}s`): string {
  return `${n(x)} ${x === 1 ? one : many}`;
}

function destination(s: AttemptSummary): string {
  const ports = s.portCount === 1 ? ` port ${s.ports[0]}` : s.portCount <= 4 ? ` ports ${s.ports.join(', ')}` : ` (${plural(s.portCount, 'port')})`;
  if (s.server === null) return `${plural(s.servers, 'other address', 'other addresses')}${ports}`;
  const host = s.server.includes(':') ? `[${s.server}]` : s.server;
  return s.portCount === 1 ? `${host}:${s.ports[0]}` : `${host}${ports}`;
}

/** What the attempts were: "100,000 unanswered SYNs", "3,000 connection attempts refused (RST to the SYN)", ... */
function attemptsText(s: AttemptSummary): string {
  if (s.unanswered === s.attempts) {
    return s.synPackets === s.attempts ? plural(s.attempts, 'unanswered SYN') : `${plural(s.attempts, 'unanswered connection attempt')} (${plural(s.synPackets, 'SYN')})`;
  }
  if (s.refused === s.attempts) return `${plural(s.attempts, 'connection attempt')} refused (RST to the SYN)`;
  if (s.reset === s.attempts) return `${plural(s.attempts, 'handshake')} reset before any data`;
  const parts = [
    s.unanswered ? `${n(s.unanswered)} unanswered` : '',
    s.refused ? `${n(s.refused)} refused` : '',
    s.reset ? `${n(s.reset)} reset after the handshake` : '',
  ].filter((x) => x !== '');
  return `${plural(s.attempts, 'connection attempt')} that carried no data (${parts.join(', ')})`;
}

/** Why such attempts happen, for a destination that is neither flooded nor scanned. */
function failingText(s: AttemptSummary): string {
  if (s.unanswered === s.attempts) return ' — nothing answered: a security group, network ACL or route dropping them, or the target down';
  if (s.refused === s.attempts) return ' — nothing listening on the port, or a firewall answering for it';
  if (s.reset === s.attempts) return ' — closed before any request: health checks (an NLB\'s TCP checks end so), probes or clients giving up';
  return '';
}

/**
 * One line for a destination's attempts that carried no data: "100,000 unanswered SYNs from about
 * 99,966 sources to 10.0.1.20:80 — a SYN flood, or a scan from spoofed addresses; none of them
 * match a 5xx in the access logs (...), 10 5xx responses name this address as target while it lasted".
 */
export function scanSentence(s: AttemptSummary, errorLogsGiven: boolean): string {
  const sources = `${s.sourcesExact ? '' : 'about '}${plural(s.sources, 'source')}`;
  const what = s.kind === 'flood' ? ' — a SYN flood, or a scan from spoofed addresses' : s.kind === 'scan' ? ' — a port scan' : failingText(s);
  const matched = !errorLogsGiven
    ? ''
    : `; ${s.matchingErrors === 0 ? 'none' : n(s.matchingErrors)} of them match${s.matchingErrors === 1 ? 'es' : ''} a 5xx in the access logs (same client, or the load balancer's SYN to the logged target), ` +
      `${s.errorsDuring === 0 ? 'no' : n(s.errorsDuring)} 5xx response${s.errorsDuring === 1 ? '' : 's'} name${s.errorsDuring === 1 ? 's' : ''} ${s.server === null ? 'one of these addresses' : 'this address'} as target while it lasted`;
  return `${attemptsText(s)} from ${sources} to ${destination(s)}${what}${matched}`;
}

export function reportScans(summaries: AttemptSummary[], errorLogsGiven: boolean): ReportScan[] {
  return summaries.map((s) => ({ ...s, summary: scanSentence(s, errorLogsGiven) }));
}
