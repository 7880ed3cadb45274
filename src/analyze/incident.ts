/**
 * The incident (time window, client, trace id: capture/incident.ts) applied inside an analysis,
 * at the depth where each part can be decided:
 * - packets: outside the window widened by CONTEXT_SECONDS they are skipped before decoding, and
 *   a capture file is left once its packets pass the widened end (flow/pipeline.ts);
 * - log lines: a 5xx line outside the incident is not handed to the Correlator (its target is
 *   still learned, for telling client-side from target-side connections);
 * - failed transactions: only those in the incident become cases (transactions the Correlator
 *   wants for a kept log line's trace id are kept whatever their time);
 * - cases: a case is explained only when its time, client and trace id fit.
 * The context around the window is what a verdict needs from before it (the last request before
 * an idle gap: the NLB's 350 s idle timeout, an ALB's 60 s default) and after it (a response that
 * comes late), so a narrow window gives the same verdicts as the whole capture.
 */
import { clientMatches, traceMatches, type ClientSpec, type Incident } from '../capture/incident.js';
import { inWindow, isAllTime, widenWindow, type TimeWindow } from '../capture/window.js';
import type { Case } from '../correlate/case.js';
import type { TxView } from '../correlate/views.js';
import type { HttpTransaction } from '../http/transaction.js';
import type { ConnInfo } from '../flow/stream.js';

/** Seconds of packets read before and after the window for the verdicts' context. */
export const CONTEXT_SECONDS = 900;

/** The window packets are read in (null: all of them). */
export function packetWindow(i: Incident | null | undefined): TimeWindow | null {
  if (!i || isAllTime(i.window)) return null;
  return widenWindow(i.window, CONTEXT_SECONDS, CONTEXT_SECONDS);
}

/** The first address of an X-Forwarded-For value (the client, as the ALB adds it), or null. */
function forwardedClient(xff: string | undefined): string | null {
  if (xff === undefined) return null;
  const first = xff.split(',')[0]!.trim();
  return first.length > 0 ? first.replace(/^\[|\]$/g, '') : null;
}

function clientOk(spec: ClientSpec | null, addr: string | null, port: number | null, xff?: string | null): boolean {
  if (spec === null) return true;
  if (addr !== null && clientMatches(spec, addr, port)) return true;
  // On the target side the ALB is the TCP client; X-Forwarded-For names the real one (no port).
  return xff !== undefined && xff !== null && spec.port === null && clientMatches(spec, xff, null);
}

/** Whether a finished transaction belongs to the incident (time of its request, client, trace id). */
export function transactionSelected(i: Incident, conn: ConnInfo, tx: HttpTransaction): boolean {
  const t = tx.requestFirstByteTime ?? tx.responseFirstByteTime;
  if (t !== null && !inWindow(i.window, t)) return false;
  if (i.traceRoot !== null && !traceMatches(i.traceRoot, tx.requestHeaders['x-amzn-trace-id'] ?? null)) return false;
  return clientOk(i.client, conn.clientAddr, conn.clientPort, forwardedClient(tx.requestHeaders['x-forwarded-for']));
}

/** Whether a load-balancer log line belongs to the incident. */
export function logLineSelected(i: Incident, time: number, clientAddr: string | null, clientPort: number | null, traceId: string | null): boolean {
  if (!inWindow(i.window, time)) return false;
  if (i.traceRoot !== null && !traceMatches(i.traceRoot, traceId)) return false;
  return clientOk(i.client, clientAddr, clientPort);
}

function txTime(t: TxView | null): number | null {
  return t === null ? null : (t.requestFirstByteTime ?? t.responseFirstByteTime);
}

/** Whether a correlated case belongs to the incident: by its log line when it has one, else by the transactions of its legs. */
export function caseSelected(i: Incident, c: Case): boolean {
  if (c.log !== null) return logLineSelected(i, c.log.time, c.log.clientAddr, c.log.clientPort, c.log.traceId);
  const clientTx = c.path.client?.tx ?? null;
  const backTx = c.path.lb?.tx ?? c.path.target?.tx ?? null;
  const t = txTime(clientTx) ?? txTime(backTx) ?? c.time;
  if (!inWindow(i.window, t)) return false;
  if (i.traceRoot !== null && !traceMatches(i.traceRoot, clientTx?.traceId ?? backTx?.traceId ?? null)) return false;
  if (i.client === null) return true;
  if (clientTx !== null) return clientOk(i.client, clientTx.clientAddr, clientTx.clientPort);
  const cc = c.path.client?.conn ?? null;
  if (cc !== null) return clientOk(i.client, cc.clientAddr, cc.clientPort);
  return false; // only the target side was seen: the client is unknown
}
