/**
 * The small keys correlation joins on: endpoints, trace-id roots, request paths, a log line's
 * request window, and what counts as a failed transaction.
 */
import { traceRootOf } from '../logs/alb.js';
import type { LbLogView, TxView } from './views.js';

export function ep(addr: string, port: number | null): string {
  return `${addr}|${port ?? ''}`;
}

/** The Root=... part of an X-Amzn-Trace-Id (or of the ALB log's trace_id), lower-cased for joining; parsing is the logs stage's traceRootOf. */
export function traceRoot(id: string | null): string | null {
  return traceRootOf(id)?.toLowerCase() ?? null;
}

/**
 * Transactions by their trace root (`traceRoot` of their X-Amzn-Trace-Id), each list in the
 * order given; those without one are left out. Built once per correlation: looking a log line's
 * root up here, not scanning every transaction for it, keeps many error lines linear.
 */
export function byTraceRoot(txs: Iterable<TxView>): Map<string, TxView[]> {
  const out = new Map<string, TxView[]>();
  for (const tx of txs) {
    const root = traceRoot(tx.traceId);
    if (root === null) continue;
    const list = out.get(root);
    if (list === undefined) out.set(root, [tx]);
    else list.push(tx);
  }
  return out;
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
