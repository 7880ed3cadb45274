/**
 * The verdicts: one Case (an incident and its path) in, one Finding out.
 *
 * The rules are a table, tried in order; each reads the legs that were captured (any subset of
 * client, lb and target legs) and either names a cause with the confidence those legs can give
 * or passes. Nothing is guessed silently: when the deciding evidence is missing, the finding is
 * `unexplained` (or `capture-gap`) and names what is missing; every finding lists the path's
 * three legs, which were seen, how they were joined, and what a missing one would have added.
 */
import type { Case } from '../correlate/case.js';
import { pathLegs } from '../correlate/path.js';
import type { ConnView, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import { decideAttempts } from './connect.js';
import { legFacts } from './facts.js';
import { decideGoaway } from './goaway.js';
import type { Finding } from './finding.js';
import { decideRequest, type RequestContext } from './request.js';
import { deregisteredInFlight, headersTooLarge, rejectedAnswer, returnPathBlocked, shortBody, targetUnreachable } from './signatures.js';
import { buildEvidence, buildLegs, buildTimeline } from './timeline.js';
import { formatSeconds, type KnownTimeout } from './timeouts.js';
import { SEVERITY, verdict, type Verdict } from './verdict.js';
import { captureForLog, causeRef, citeVerdict, logCandidates } from './why.js';

export interface DiagnoseOptions {
  /** Known idle timeouts learned from this capture (e.g. the target's keep-alive from its FINs). */
  learnedTimeouts?: KnownTimeout[];
}

interface Rule {
  /** What the rule recognises, in words (for readers of this table and of docs/analyze.md). */
  name: string;
  decide(x: RequestContext): Verdict | null;
}

/** The transactions of the path, nearest the target first (the target's own answer decides). */
function backTxs(c: Case): TxView[] {
  return [c.path.target?.tx, c.path.lb?.tx].filter((t): t is TxView => t !== null && t !== undefined);
}

const RULES: readonly Rule[] = [
  {
    name: 'the client gave up first (ALB 460, or the client closed with the request outstanding)',
    decide: ({ c }) =>
      c.status === 460 || (c.path.client?.tx?.outcome === 'no-response' && c.path.client.tx.endedBy === 'client-close')
        ? verdict('client-closed', 'high', 'The client closed the connection before the load balancer could answer (ALB logs this as 460).', [
            'Raise the client\'s timeout above the slowest response, or make the target answer faster; nothing is wrong on the load balancer side.',
          ])
        : null,
  },
  { name: 'the target\'s response head is over 32 KB (the ALB\'s limit)', decide: headersTooLarge },
  {
    name: 'the target\'s response does not parse',
    decide: ({ c }) => {
      const tx = backTxs(c).find((t) => t.outcome === 'malformed');
      return tx
        ? verdict('malformed-response', 'high', `The target answered with a response the HTTP parser rejects (${tx.malformedReason ?? 'malformed'}); a load balancer answers such a response with 502.`, [
            'Fix the target\'s response framing/headers (an ALB rejects malformed responses and response headers over 32 KB).',
          ])
        : null;
    },
  },
  { name: 'the target announced a Content-Length larger than the body it sent, and went quiet', decide: shortBody },
  { name: 'the target answered completely and the load balancer answered 5xx in its place', decide: rejectedAnswer },
  {
    name: 'the target itself answered 5xx',
    decide: ({ c }) => {
      const tx = backTxs(c).find((t) => t.outcome === 'complete' && t.status !== null && t.status >= 500);
      return tx
        ? verdict('target-error-response', 'high', `The target itself answered ${tx.status}; the load balancer passed it on.`, [
            'Look at the target application: the error is its own (target_status_code equals elb_status_code in the access log).',
          ])
        : null;
    },
  },
  { name: 'an HTTP/2 GOAWAY cut requests: one finding for all it cut, each retried and answered (info), or lost (error)', decide: decideGoaway },
  {
    name: 'an HTTP/2 stream reset or GOAWAY before any answer',
    decide: ({ c }) => {
      const tx = [...backTxs(c), ...(c.path.client?.tx ? [c.path.client.tx] : [])].find((t) => t.status === null && (t.endedBy === 'rst-stream' || t.endedBy === 'goaway'));
      if (!tx) return null;
      return tx.endedBy === 'rst-stream'
        ? verdict('http2-stream-reset', 'high', 'The HTTP/2 stream carrying the request was reset (RST_STREAM) before a response.', [
            'Check the peer that sent RST_STREAM (its error code is in the evidence): stream limits, timeouts or a cancelled request.',
          ])
        : verdict('http2-goaway', 'high', 'The HTTP/2 connection was shut down with GOAWAY before the request was answered.', [
            'Retry requests above the GOAWAY last-stream-id on a new connection; check why the peer sends GOAWAY (max requests per connection, errors).',
          ]);
    },
  },
  { name: 'a connection attempt answered by an ICMP destination unreachable quoting its SYN', decide: targetUnreachable },
  { name: 'SYNs unanswered because the replies were lost on the way back (SYN-ACKs sent, never arrived; or the target\'s flow log REJECTs them)', decide: returnPathBlocked },
  { name: 'failed connection attempts (TLS alert, refused, SYNs unanswered, flow-log REJECT before or after the NAT hop)', decide: ({ c }) => decideAttempts(c) },
  { name: 'the load balancer reset its own connection to the target with the request outstanding, and answered 502 (deregistration delay)', decide: deregisteredInFlight },
  { name: 'what came back to a request on an established connection, on whichever back legs were captured', decide: decideRequest },
  {
    name: 'the mirror lost the deciding packets',
    decide: ({ c }) => {
      const lost = pathLegs(c.path).some((l) => l.tx?.outcome === 'incomplete' || (l.conn !== null && l.conn.gapBytes > 0 && l.role !== 'client'));
      return lost && (c.path.lb || c.path.target)
        ? verdict('capture-gap', 'low', 'The mirror did not deliver all the packets of this exchange, so what decided it is not in the capture.', [
            'Check mirror drops: the target\'s receive-buffer drops, MTU truncation (PacketLength), and the mirror session\'s bandwidth limits.',
          ], { missing: ['the packets lost by the mirror on the target connection'] })
        : null;
    },
  },
  {
    name: 'the capture ended with the request outstanding',
    decide: ({ c }) => {
      const txs = pathLegs(c.path).map((l) => l.tx).filter((t): t is TxView => t !== null);
      if (c.log || txs.length === 0 || !txs.every((t) => t.endedBy === 'capture-end' && t.status === null)) return null;
      const t = txs[0]!;
      return verdict('capture-end', 'high', `The capture ended ${t.requestFirstByteTime !== null && c.path.client?.conn ? `${formatSeconds(Math.max(0, c.path.client.conn.endTime - t.requestFirstByteTime))} after the request ` : ''}before its response: nothing shows that it failed.`, [
        'Capture longer (or around the time of a logged error) to see how the request ended.',
      ]);
    },
  },
  {
    name: '504 with nothing captured behind the load balancer',
    decide: ({ c }) =>
      c.status === 504 && c.log && c.log.targetProcessingSeconds === null && c.log.requestProcessingSeconds === null && !c.coverage.lb && !c.coverage.target
        ? verdict('unexplained', 'low', 'The load balancer answered 504 and the capture has no target-side packets to tell a connect timeout from a response timeout.')
        : null,
  },
];

function missingFor(c: Case): string[] {
  const m: string[] = [];
  const back = c.path.lb !== null || c.path.target !== null || c.path.idleCandidates.length > 0;
  if (!c.captureCovers) m.push('packets: the capture does not cover the time of this request');
  else if (!back && !c.coverage.lb && !c.coverage.target) m.push('target-side packets: mirror the load balancer\'s target-facing interface (or the target\'s ENI)');
  else if (!back) m.push('the target-side request: no matching load balancer → target request or connection was found near this time');
  if (c.log === null) m.push('the load balancer access log line (--alb-log) for this request');
  if (c.path.client === null && c.log === null) m.push('the client-side transaction (key log for the client TLS session?)');
  return m;
}

let findingCounter = 0;

function connEnds(c: ConnView): { client: string; server: string } {
  return { client: endpoint(c.clientAddr, c.clientPort)!, server: endpoint(c.serverAddr, c.serverPort)! };
}

export function diagnose(c: Case, opts: DiagnoseOptions = {}): Finding {
  const x: RequestContext = {
    c,
    lb: c.path.lb ? legFacts(c.path.lb) : null,
    target: c.path.target ? legFacts(c.path.target) : null,
    learned: opts.learnedTimeouts ?? [],
  };
  let v: Verdict | null = null;
  for (const r of RULES) {
    v = r.decide(x);
    if (v) break;
  }
  v ??= verdict('unexplained', 'low', `No packet evidence explains this ${c.status ?? 'error'}.`);
  if (v.kind === 'unexplained') v.missing = [...v.missing, ...missingFor(c)];

  const legs = pathLegs(c.path);
  const anyTx = c.path.lb?.tx ?? c.path.target?.tx ?? null;
  const method = anyTx?.method ?? c.path.client?.tx?.method ?? c.log?.method ?? null;
  const path = anyTx?.path ?? c.path.client?.tx?.path ?? c.log?.path ?? null;
  const reqTime = c.path.client?.tx?.requestFirstByteTime ?? (c.log?.requestTime != null ? c.log.requestTime - c.skewSeconds : null) ?? anyTx?.requestFirstByteTime ?? null;
  const client = c.log?.clientAddr != null ? endpoint(c.log.clientAddr, c.log.clientPort) : c.path.client?.tx ? endpoint(c.path.client.tx.clientAddr, c.path.client.tx.clientPort) : null;
  const back = c.path.lb ?? c.path.target;
  const tconn = back ? back.conn ?? back.attempts[0] ?? null : null;
  const uids = legs.flatMap((l) => [l.conn?.uid, l.leg?.uid, l.tx?.connUid, ...l.attempts.map((a) => a.uid)]);
  if (!c.path.lb && !c.path.target) uids.push(...c.path.idleCandidates.slice(0, 1).map((k) => k.conn.uid));
  const id = nextFindingId();
  const status = c.status ?? c.path.client?.tx?.status ?? null;
  // Unexplained with a log line: the documented causes that line fits, and what to capture to tell them apart.
  const candidates = v.kind === 'unexplained' && c.log !== null ? logCandidates(c.log) : [];
  return {
    id,
    kind: v.kind,
    severity: v.severity ?? SEVERITY[v.kind],
    confidence: v.confidence,
    summary: v.summary,
    status,
    request: method !== null || path !== null || reqTime !== null ? { method, path, time: reqTime } : null,
    client,
    targetConnection: tconn ? { uid: tconn.uid, ...connEnds(tconn) } : back?.tx ? { uid: back.tx.connUid, client: endpoint(back.tx.clientAddr, back.tx.clientPort)!, server: endpoint(back.tx.serverAddr, back.tx.serverPort)! } : null,
    resetBy: v.resetBy,
    idleSeconds: v.idleSeconds,
    timeoutFits: v.fits,
    evidence: buildEvidence(c, v),
    advice: v.advice,
    missing: v.missing,
    connectionUids: [...new Set(uids.filter((u): u is string => typeof u === 'string'))],
    legs: buildLegs(c, v),
    timeline: buildTimeline(c, v),
    causes: citeVerdict(v.kind, status, c.log?.kind ?? null, v.fits).map(causeRef),
    candidates: candidates.map(causeRef),
    occurrences: null,
    captureNext: candidates.length && c.log ? captureForLog(c.log, candidates, id.toLowerCase()) : null,
    goaway: v.goaway ?? null,
  };
}

/** The next finding id of this run (`F1`, `F2`, ...): findings from packets and from logs alone share them. */
export function nextFindingId(): string {
  findingCounter++;
  return `F${findingCounter}`;
}

/** Resets the finding id counter (tests, and each analyze run). */
export function resetFindingIds(): void {
  findingCounter = 0;
}

/** Learns the target's keep-alive timeout from the idle time before its FINs (median), if any. */
export function learnKeepAlive(conns: Iterable<ConnView>): KnownTimeout[] {
  const idles: number[] = [];
  for (const c of conns) for (const m of c.marks) if (m.kind === 'fin' && !m.fromClient && m.idleBeforeSeconds > 0.5) idles.push(m.idleBeforeSeconds);
  if (idles.length < 2) return [];
  idles.sort((a, b) => a - b);
  const med = idles[idles.length >> 1]!;
  return [{ name: "target's own keep-alive timeout (learned from its FINs)", seconds: Math.round(med * 10) / 10, fix: 'the target keep-alive setting' }];
}
