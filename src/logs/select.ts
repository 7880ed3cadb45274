/**
 * Whether a log record belongs to an incident (capture/incident.ts): its time in the window, its
 * client matching `--client`, its trace id matching `--trace-id`.
 * - ALB, CLB, NLB access logs and ALB connection logs: `time` and the client ip:port;
 * - VPC flow logs: the capture interval [start, end] overlapping the window, and either end of the
 *   conversation matching the client (a flow record has no notion of which end is the client);
 * - `--trace-id` keeps only ALB lines that carry it (other records have no trace id).
 */
import { clientMatches, type Incident } from '../capture/incident.js';
import { inWindow, overlapsWindow } from '../capture/window.js';
import type { LogRecord } from './read.js';

export function logRecordSelected(i: Incident, r: LogRecord): boolean {
  if (r.kind === 'flow') {
    if (i.traceRoot !== null) return false;
    const start = r.start ?? r.end;
    const end = r.end ?? r.start;
    if (start !== null && end !== null && !overlapsWindow(i.window, start, end)) return false;
    if (i.client === null) return true;
    return (
      (r.srcaddr !== null && clientMatches(i.client, r.srcaddr, r.srcport)) || (r.dstaddr !== null && clientMatches(i.client, r.dstaddr, r.dstport))
    );
  }
  if (!inWindow(i.window, r.time)) return false;
  if (i.traceRoot !== null && (r.kind !== 'alb' || r.traceId === null || !r.traceId.toLowerCase().includes(i.traceRoot))) return false;
  return i.client === null || clientMatches(i.client, r.clientAddr, r.clientPort);
}
