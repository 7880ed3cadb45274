/**
 * The small keys correlation joins on: endpoints, trace-id roots, request paths, a log line's
 * request window, and what counts as a failed transaction.
 */
import { traceRootOf } from '../logs/alb.js';
import type { LbLogView } from './views.js';

export function ep(addr: string, port: number | null): string {
  return `${addr}|${port ?? ''}`;
}

/** The Root=... part of an X-Amzn-Trace-Id (or of the ALB log's trace_id), lower-cased for joining; parsing is the logs stage's traceRootOf. */
export function traceRoot(id: string | null): string | null {
  return traceRootOf(id)?.toLowerCase() ?? null;
}

/** A transaction that is an error to explain: a 5xx, or no complete answer. A 1xx-4xx answer never is. */
export function isFailedTx(outcome: string, status: number | null): boolean {
  return status !== null ? status >= 500 : outcome !== 'complete';
}

export function pathOnly(p: string | null): string | null {
  if (p === null) return null;
  try {
    if (/^[a-z]+:\/\//i.test(p)) {
      const u = new URL(p);
      return u.pathname + u.search;
    }
  } catch {
    /* keep as is */
  }
  return p;
}

/** Where a log line's request was, in the log's clock: [received, answered]. */
export function logWindow(l: LbLogView): [number, number] {
  const req = l.requestTime ?? l.time - Math.max(0, l.requestProcessingSeconds ?? 0) - Math.max(0, l.targetProcessingSeconds ?? 0) - Math.max(0, l.responseProcessingSeconds ?? 0);
  return [Math.min(req, l.time), l.time];
}
