/**
 * The HTTP/2 GOAWAY verdict: one finding for every stream one GOAWAY cut (correlate/goaway.ts),
 * saying which were sent again on another connection and answered, and which were lost.
 *
 * | error code | the cut requests | severity |
 * |---|---|---|
 * | NO_ERROR | every one retried and answered | info: a graceful shutdown the client handled |
 * | another (PROTOCOL_ERROR, ENHANCE_YOUR_CALM, ...) | every one retried and answered | warning: nothing lost, but the peer signalled an error |
 * | any | one not retried, or its retry failed | error: requests were lost |
 */
import type { GoawayGroup, GoawayStream } from '../correlate/goaway.js';
import { retryAnswered } from '../correlate/goaway.js';
import { endpoint } from '../correlate/views.js';
import { causesForVerdict } from '../logs/causes/index.js';
import type { Evidence, FindingGoaway, FindingGoawayStream } from './finding.js';
import type { RequestContext } from './request.js';
import { formatSeconds } from './timeouts.js';
import { verdict, type Verdict } from './verdict.js';

/**
 * The GOAWAY on the client lane of the timeline, every stream it cut, and each retry with its
 * answer (on another connection: the label names it).
 */
function goawayMarks(g: GoawayGroup, from: 'client' | 'server'): NonNullable<Verdict['extraMarks']> {
  const marks: NonNullable<Verdict['extraMarks']> = [
    { time: g.time, role: 'client', dir: from === 'server' ? 1 : 0, kind: 'data', label: ['GOAWAY', g.errorCode, g.lastStreamId !== null ? `last-stream-id ${g.lastStreamId}` : null].filter((x) => x !== null).join(' ') },
  ];
  for (const st of g.streams.slice(1)) {
    if (st.tx.requestFirstByteTime !== null) marks.push({ time: st.tx.requestFirstByteTime, role: 'client', dir: 0, kind: 'request', label: `${requestName(st)} (stream ${st.tx.streamId ?? '?'})` });
  }
  for (const st of g.streams) {
    const r = st.retry;
    if (r === null) continue;
    if (r.requestFirstByteTime !== null) marks.push({ time: r.requestFirstByteTime, role: 'client', dir: 0, kind: 'request', label: `retry ${requestName(st)} on ${r.connUid}` });
    if (r.responseFirstByteTime !== null) marks.push({ time: r.responseFirstByteTime, role: 'client', dir: 1, kind: 'response', label: `${r.status !== null ? `HTTP ${r.status}` : 'response'} to the retry on ${r.connUid}` });
  }
  return marks;
}

function outcomeOf(st: GoawayStream): FindingGoawayStream['outcome'] {
  if (st.retry === null) return 'not-retried';
  return retryAnswered(st.retry) ? 'retried' : 'retry-failed';
}

function requestName(st: GoawayStream): string {
  return `${st.tx.method ?? '?'} ${st.tx.path ?? '?'}`;
}

function retryText(st: GoawayStream): string {
  const r = st.retry;
  if (r === null) return 'not retried';
  const answer = r.status !== null ? `answered ${r.status}` : `no answer (${r.outcome}${r.endedBy ? `, ended by ${r.endedBy}` : ''})`;
  return `retried ${formatSeconds(Math.max(0, (r.requestFirstByteTime ?? 0) - (st.tx.goaway?.time ?? st.tx.requestFirstByteTime ?? 0)))} later on connection ${r.connUid}${r.streamId !== null ? ` (stream ${r.streamId})` : ''}: ${answer}`;
}

function list(xs: string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** The report's account of the GOAWAY (Finding.goaway). */
export function goawayReport(g: GoawayGroup): FindingGoaway {
  const first = g.streams[0]!.tx;
  const streams = g.streams.map((st): FindingGoawayStream => ({
    streamId: st.tx.streamId,
    method: st.tx.method,
    path: st.tx.path,
    requestTime: st.tx.requestFirstByteTime,
    outcome: outcomeOf(st),
    retry: st.retry ? { connectionUid: st.retry.connUid, streamId: st.retry.streamId, status: st.retry.status, requestTime: st.retry.requestFirstByteTime, outcome: st.retry.outcome } : null,
  }));
  return {
    connectionUid: g.connUid,
    // The GOAWAY's receiver opened the streams it cut: odd ids are the client's (the server sent
    // it), even ones the server's pushes (the client sent it).
    from: first.streamId !== null && first.streamId % 2 === 0 ? endpoint(first.clientAddr, first.clientPort) : endpoint(first.serverAddr, first.serverPort),
    time: g.time,
    lastStreamId: g.lastStreamId,
    errorCode: g.errorCode,
    streams,
    retried: streams.filter((s) => s.outcome === 'retried').length,
    failed: streams.filter((s) => s.outcome !== 'retried').length,
  };
}

export function goawayVerdict(g: GoawayGroup): Verdict {
  const rep = goawayReport(g);
  const first = g.streams[0]!.tx;
  const extraMarks = goawayMarks(g, first.streamId !== null && first.streamId % 2 === 0 ? 'client' : 'server');
  const n = g.streams.length;
  const code = g.errorCode ?? 'an unrecorded error code';
  const graceful = g.errorCode === null || g.errorCode === 'NO_ERROR';
  const what = `${rep.from ?? 'The server'} shut the HTTP/2 connection down with GOAWAY (${code}${g.lastStreamId !== null ? `, last-stream-id ${g.lastStreamId}` : ''}) with ${n} request${n === 1 ? '' : 's'} it had not processed (stream${n === 1 ? '' : 's'} ${g.streams.map((s) => s.tx.streamId ?? '?').join(', ')}: ${list(g.streams.map(requestName))})`;
  const evidence: Evidence[] = [
    { time: g.time, source: 'http', text: `GOAWAY ${code}${g.lastStreamId !== null ? ` last-stream-id ${g.lastStreamId}` : ''} from ${rep.from ?? 'the server'} on connection ${g.connUid}: streams above it were not processed` },
    ...g.streams.map((st): Evidence => ({ time: st.tx.requestFirstByteTime, source: 'http', text: `stream ${st.tx.streamId ?? '?'} ${requestName(st)}: cut by the GOAWAY, ${retryText(st)}` })),
  ];
  const lost = g.streams.filter((st) => outcomeOf(st) !== 'retried');
  const why = graceful
    ? 'A graceful GOAWAY closes a connection on purpose: a requests-per-connection limit (an ALB after 10,000 requests on one connection, nginx keepalive_requests), a draining server or a deploy.'
    : `${g.errorCode} is an error: find what the sender objected to (PROTOCOL_ERROR or COMPRESSION_ERROR: a malformed or oversized header block — an ALB sends GOAWAY when a compressed header exceeds 8 KB; ENHANCE_YOUR_CALM: too many streams or resets; INTERNAL_ERROR: the sender's own fault).`;
  if (lost.length === 0) {
    return verdict(
      'http2-goaway',
      'high',
      `${what}; the client sent ${n === 1 ? 'it' : `all ${n}`} again on new connections and ${n === 1 ? 'it was' : 'each was'} answered (${g.streams.map((s) => s.retry!.status).join(', ')}): no request was lost.${graceful ? '' : ` But ${g.errorCode} says the sender saw an error.`}`,
      graceful
        ? [`Nothing failed: the client retried the requests above the last-stream-id, as HTTP/2 clients should. ${why} If it happens often, a higher requests-per-connection limit saves the new handshakes.`]
        : [why, 'The client retried the cut requests and they were answered; nothing was lost this time.'],
      { severity: graceful ? 'info' : 'warning', goaway: rep, extraEvidence: evidence, extraMarks },
    );
  }
  const notRetried = lost.filter((st) => st.retry === null);
  const failed = lost.filter((st) => st.retry !== null);
  const parts: string[] = [];
  if (notRetried.length) parts.push(`${list(notRetried.map(requestName))} ${notRetried.length === 1 ? 'was' : 'were'} never sent again`);
  if (failed.length) parts.push(`${list(failed.map((st) => `${requestName(st)} (retry: ${st.retry!.status ?? st.retry!.outcome})`))} failed again on retry (why is the retry's own finding)`);
  const retried = n - lost.length;
  return verdict(
    'http2-goaway',
    'high',
    `${what}; ${lost.length} of ${n} ${lost.length === 1 ? 'was' : 'were'} lost: ${parts.join('; ')}${retried ? `; ${retried} ${retried === 1 ? 'was' : 'were'} retried and answered` : ''}.`,
    [
      // The catalogue's fix first (docs/verdicts.md), then what makes the retry safe and why the GOAWAY came.
      ...causesForVerdict('http2-goaway').flatMap((c) => c.fix).slice(0, 1),
      'Requests above the last-stream-id were not processed (RFC 9113 §6.8), so even non-idempotent ones are safe to send again; most HTTP/2 libraries retry them, some need it enabled (Node\'s http2 core leaves it to the application).',
      why,
    ],
    { severity: 'error', goaway: rep, extraEvidence: evidence, extraMarks },
  );
}

/** The rule: a case found from a stream a GOAWAY cut (its group), or a lone cut stream (no group recorded). */
export function decideGoaway({ c }: RequestContext): Verdict | null {
  if (c.goaway) return goawayVerdict(c.goaway);
  return null;
}
