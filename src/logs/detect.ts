/**
 * Which log format a line is in, from its shape alone (per file, on its first non-empty lines):
 *
 *   alb       `http|https|h2|grpcs|ws|wss <ISO time> ...`
 *   nlb       `tls <n.n> <ISO time> ...`
 *   alb-conn  `<ISO time> <client ip> <client port> <listener port> ...`
 *   clb       `<ISO time> <lb name> <client ip:port> ...`
 *   flow      a header line naming flow-log fields, or `<version> ... ACCEPT|REJECT|- OK|NODATA|SKIPDATA`
 */
import { parseIsoSeconds, parseUint } from './fields.js';
import { ALB_TYPES } from './alb.js';
import { isFlowHeader } from './flow.js';
import type { LogFormat } from './types.js';

const ALB_TYPE_SET = new Set<string>(ALB_TYPES);

function isIso(s: string | undefined): boolean {
  if (s === undefined) return false;
  const t = parseIsoSeconds(s);
  return t === t;
}

/**
 * 'flow-header': a flow-log header line (the field list of the records that follow).
 * 'flow-timestamped': a default-format flow record behind an ISO timestamp, as CloudWatch Logs
 * exports (to S3) write each event: `2024-05-01T10:00:00.000Z 2 123456789012 eni-... ACCEPT OK`.
 */
export type Detected = LogFormat | 'flow-header' | 'flow-timestamped' | null;

function isDefaultFlowRecord(tokens: readonly string[], from: number, count: number): boolean {
  if (!(parseUint(tokens[from]!) >= 2) || count - from < 14) return false;
  const action = tokens[from + 12];
  const status = tokens[from + 13];
  return (action === 'ACCEPT' || action === 'REJECT' || action === '-') && (status === 'OK' || status === 'NODATA' || status === 'SKIPDATA');
}

export function detectFormat(tokens: readonly string[], count: number): Detected {
  if (count < 2) return null;
  const t0 = tokens[0]!;
  if (ALB_TYPE_SET.has(t0) && isIso(tokens[1])) return 'alb';
  if (t0 === 'tls' && /^\d+\.\d+$/.test(tokens[1]!) && isIso(tokens[2])) return 'nlb';
  if (isIso(t0)) {
    if (isDefaultFlowRecord(tokens, 1, count)) return 'flow-timestamped';
    if (count > 3 && parseUint(tokens[2]!) <= 65535 && parseUint(tokens[3]!) <= 65535) return 'alb-conn';
    if (count > 3 && tokens[2]!.indexOf(':') > 0) return 'clb';
    return null;
  }
  if (isFlowHeader(tokens, count)) return 'flow-header';
  if (isDefaultFlowRecord(tokens, 0, count)) return 'flow';
  return null;
}
