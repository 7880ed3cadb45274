/**
 * The verdicts: one Case (an error and its correlated evidence) in, one Finding out.
 *
 * The rules read the TCP evidence on the load balancer → target leg the way an engineer would:
 * what happened right after the request was sent on that connection (RST? FIN? nothing?), how long
 * the connection had been idle before, whether the peer's RST/FIN acknowledged the request bytes.
 * Nothing is guessed silently: when the deciding evidence is missing, the finding is `unexplained`
 * (or `capture-gap`) and names what is missing.
 */
import type { Case, ConnView, TcpMark, TxView } from '../correlate/views.js';
import { endpoint } from '../correlate/views.js';
import type { Confidence, Evidence, Finding, FindingKind, Severity, Timeline, TimelineMark, TimeoutFit } from './finding.js';
import { describeFits, fitTimeouts, formatSeconds, type KnownTimeout } from './timeouts.js';

export interface DiagnoseOptions {
  /** Known idle timeouts learned from this capture (e.g. the target's keep-alive from its FINs). */
  learnedTimeouts?: KnownTimeout[];
}

const SEVERITY: Record<FindingKind, Severity> = {
  'idle-timeout-reset': 'error',
  'keepalive-race': 'error',
  'target-reset': 'error',
  'target-closed-before-response': 'error',
  'target-connection-refused': 'error',
  'target-connect-timeout': 'error',
  'target-response-timeout': 'error',
  'malformed-response': 'error',
  'tls-handshake-failure': 'error',
  'http2-stream-reset': 'warning',
  'http2-goaway': 'warning',
  'client-closed': 'info',
  'capture-gap': 'warning',
  'flow-log-reject': 'error',
  'not-in-flow-logs': 'error',
  'target-error-response': 'warning',
  unexplained: 'warning',
};

/** How soon after the request a RST/FIN counts as "the answer to it" (seconds). */
function promptWindow(conn: ConnView | null): number {
  const rtt = conn?.rttSeconds ?? null;
  return Math.max(0.25, rtt !== null ? rtt * 8 : 0);
}

function serverMarks(conn: ConnView | null, kind: TcpMark['kind']): TcpMark[] {
  return conn ? conn.marks.filter((m) => !m.fromClient && m.kind === kind) : [];
}

function clientMarks(conn: ConnView | null, kind: TcpMark['kind']): TcpMark[] {
  return conn ? conn.marks.filter((m) => m.fromClient && m.kind === kind) : [];
}

function firstAfter(marks: TcpMark[], t: number): TcpMark | null {
  let best: TcpMark | null = null;
  for (const m of marks) if (m.time >= t && (best === null || m.time < best.time)) best = m;
  return best;
}

function lastBefore(marks: TcpMark[], t: number): TcpMark | null {
  let best: TcpMark | null = null;
  for (const m of marks) if (m.time <= t && (best === null || m.time > best.time)) best = m;
  return best;
}

function connEndpoints(c: ConnView): { client: string; server: string } {
  return { client: endpoint(c.clientAddr, c.clientPort)!, server: endpoint(c.serverAddr, c.serverPort)! };
}

function reqLabel(tx: TxView | null, c: Case): { method: string | null; path: string | null } {
  return {
    method: tx?.method ?? c.clientTx?.method ?? c.log?.method ?? null,
    path: tx?.path ?? c.clientTx?.path ?? c.log?.path ?? null,
  };
}

interface Verdict {
  kind: FindingKind;
  confidence: Confidence;
  summary: string;
  advice: string[];
  missing: string[];
  resetBy: string | null;
  idleSeconds: number | null;
  fits: TimeoutFit[];
  extraEvidence: Evidence[];
}

function verdict(kind: FindingKind, confidence: Confidence, summary: string, advice: string[] = [], more: Partial<Verdict> = {}): Verdict {
  return { kind, confidence, summary, advice, missing: [], resetBy: null, idleSeconds: null, fits: [], extraEvidence: [], ...more };
}

const KEEPALIVE_ADVICE =
  'Enable TCP keepalive on the pooled connections with an interval below the shortest idle timeout on the path (e.g. net.ipv4.tcp_keepalive_time=60 on the target, SO_KEEPALIVE in the application), so the hop never forgets an idle connection.';

function idleResetAdvice(fits: TimeoutFit[], idle: number): string[] {
  const adv = [KEEPALIVE_ADVICE];
  if (fits.some((f) => f.name.startsWith('NLB'))) {
    adv.push(`Or raise the NLB listener attribute tcp.idle_timeout.seconds above the load balancer's pooled-connection lifetime (measured idle here: ${formatSeconds(idle)}).`);
  }
  adv.push('Or make the upstream pool close idle connections sooner than that hop forgets them (ALB idle_timeout.timeout_seconds below the NLB/NAT timeout; nginx keepalive_timeout in the upstream block).');
  return adv;
}

function decideTargetSide(c: Case, tx: TxView, conn: ConnView | null, opts: DiagnoseOptions): Verdict | null {
  const reqT = tx.requestFirstByteTime;
  const win = promptWindow(conn);
  const idle = tx.idleBeforeRequestSeconds;
  const serverName = conn ? connEndpoints(conn).server : endpoint(tx.serverAddr, tx.serverPort);

  if (tx.outcome === 'malformed') {
    return verdict(
      'malformed-response',
      'high',
      `The target answered with a response the HTTP parser rejects (${tx.malformedReason ?? 'malformed'}); a load balancer answers such a response with 502.`,
      ['Fix the target\'s response framing/headers (an ALB rejects malformed responses and response headers over 32 KB).'],
    );
  }
  if (tx.status !== null && tx.outcome === 'complete') {
    if (tx.status >= 500) {
      return verdict('target-error-response', 'high', `The target itself answered ${tx.status}; the load balancer passed it on.`, [
        'Look at the target application: the error is its own (target_status_code equals elb_status_code in the access log).',
      ]);
    }
    return null;
  }
  if (tx.endedBy === 'rst-stream') {
    return verdict('http2-stream-reset', 'high', 'The HTTP/2 stream carrying the request was reset (RST_STREAM) before a response.', [
      'Check the peer that sent RST_STREAM (its error code is in the evidence): stream limits, timeouts or a cancelled request.',
    ]);
  }
  if (tx.endedBy === 'goaway') {
    return verdict('http2-goaway', 'high', 'The HTTP/2 connection was shut down with GOAWAY before the request was answered.', [
      'Retry requests above the GOAWAY last-stream-id on a new connection; check why the peer sends GOAWAY (max requests per connection, errors).',
    ]);
  }
  if (reqT === null) return null;

  const fin = conn ? firstAfter(serverMarks(conn, 'fin'), reqT - win) : null;
  const rst = conn ? firstAfter(serverMarks(conn, 'rst'), reqT - 0.000001) : null;
  // The load balancer giving up first (its FIN/RST before anything from the target) decides it:
  // a FIN or RST from the target after that only answers the load balancer's close.
  const lbGaveUp = conn ? firstAfter([...clientMarks(conn, 'fin'), ...clientMarks(conn, 'rst')], reqT) : null;
  const beforeAnswer = (t: number) => (tx.responseFirstByteTime === null || t < tx.responseFirstByteTime) && (lbGaveUp === null || t <= lbGaveUp.time);

  // A FIN from the target crossing the request: the keep-alive race. Decisive: the FIN does not
  // acknowledge the request bytes (the target closed before it saw the request), however late it
  // arrives (a delaying hop in between); without ACK information, only a FIN close in time counts.
  if (fin && beforeAnswer(fin.time)) {
    const crossed = fin.acksAllPeerData === false || fin.time <= reqT || (fin.acksAllPeerData === null && fin.time <= reqT + win);
    if (crossed) {
      // The target's keep-alive timer ran from the last packet before its FIN: seen before the
      // request, that is the FIN's own idle time; seen after it (in flight, or delayed by a hop),
      // the target sent it before the request reached it, so the idle time before the request is
      // the best measure (an upper bound by the one-way delay).
      const keepAlive = fin.time <= reqT || idle === null ? fin.idleBeforeSeconds : idle;
      const learned = opts.learnedTimeouts ?? [];
      return verdict(
        'keepalive-race',
        fin.acksAllPeerData === false || fin.time <= reqT ? 'high' : 'medium',
        `The target closed the idle keep-alive connection (FIN after about ${formatSeconds(keepAlive)} idle) just as the load balancer sent the request on it: the FIN and the request crossed${fin.acksAllPeerData === false ? ' (the FIN does not acknowledge the request: the target had not seen it)' : ''}.`,
        [
          `Make the target's keep-alive timeout longer than the load balancer's idle timeout (ALB default 60 s): e.g. Node.js server.keepAliveTimeout = 65000 and server.headersTimeout = 66000; nginx keepalive_timeout 75s; Apache KeepAliveTimeout 75; gunicorn --keep-alive 75.`,
          `The target's keep-alive timeout measured here is about ${formatSeconds(keepAlive)}.`,
        ],
        {
          idleSeconds: idle,
          resetBy: rst ? serverName : null,
          fits: fitTimeouts(keepAlive, learned, 'target'),
          extraEvidence: c.nextLeg && c.nextLeg.serverFinTimes.length
            ? [
                {
                  time: c.nextLeg.serverFinTimes[0]!,
                  source: 'packet',
                  text: `on the next leg the target ${endpoint(c.nextLeg.serverAddr, c.nextLeg.serverPort)} sent its FIN ${formatSeconds(Math.abs(reqT - c.nextLeg.serverFinTimes[0]!))} ${c.nextLeg.serverFinTimes[0]! <= reqT ? 'before' : 'after'} the load balancer sent the request${c.nextLegTx?.requestFirstByteTime != null ? `, which reached it ${formatSeconds(Math.max(0, c.nextLegTx.requestFirstByteTime - c.nextLeg.serverFinTimes[0]!))} after the FIN` : ''}`,
                },
              ]
            : [],
        },
      );
    }
    if (!rst || fin.time <= rst.time) {
      return verdict(
        'target-closed-before-response',
        'high',
        `The target closed the connection (FIN) ${formatSeconds(Math.max(0, fin.time - reqT))} after receiving the request, without answering it.`,
        ['Find why the target closes with a request outstanding: a crash after reading the request, a request-size or timeout limit in the target, or a graceful shutdown that does not drain in-flight requests.'],
        { idleSeconds: idle },
      );
    }
  }
  if (rst && beforeAnswer(rst.time)) {
    const prompt = rst.time - reqT <= win;
    const idleEnough = idle !== null && idle >= 1 && (tx.requestIndexOnConnection ?? 2) > 1;
    const next = c.nextLeg;
    const traced = c.log !== null && c.log.traceId !== null && c.targetTx?.traceId != null;
    if (next && c.nextLegTx && c.nextLegTx.requestFirstByteTime !== null) {
      // The request crossed the hop and reached the target: the RST is the target's, relayed.
      return verdict(
        'target-reset',
        'high',
        `The request reached the target (${endpoint(next.serverAddr, next.serverPort)} on the next leg, ${formatSeconds(Math.max(0, c.nextLegTx.requestFirstByteTime - reqT))} later) and the target reset the connection; the RST came back through ${serverName}.`,
        ['Look at the target at that time: process crash or restart, a worker killed mid-request, SO_LINGER 0 closes.'],
        { idleSeconds: idle, resetBy: endpoint(next.serverAddr, next.serverPort), extraEvidence: [{ time: c.nextLegTx.requestFirstByteTime, source: 'http', text: `next leg ${endpoint(next.clientAddr, next.clientPort)} → ${endpoint(next.serverAddr, next.serverPort)}: the target received the request (same X-Amzn-Trace-Id)` }] },
      );
    }
    if (prompt && rst.acksAllPeerData !== true && idleEnough) {
      const extra: Evidence[] = [];
      let confidence: Confidence | null = null;
      if (next && traced && !c.nextLegTx) {
        extra.push({
          time: rst.time,
          source: 'packet',
          text: `the next leg (${endpoint(next.clientAddr, next.clientPort)} → ${endpoint(next.serverAddr, next.serverPort)}) carried no request with this X-Amzn-Trace-Id: the target never saw it, so the RST was made by the hop in between`,
        });
        confidence = 'high';
      }
      const fits = fitTimeouts(idle!, opts.learnedTimeouts ?? [], 'middlebox');
      const fitText = fits.length
        ? ` That fits ${describeFits(fits)}.`
        : ' No default timeout matches exactly: a stateful hop (NLB, NAT gateway, firewall, conntrack) with a shorter or configured timeout forgot the connection.';
      return verdict(
        'idle-timeout-reset',
        confidence ?? (fits.length || idle! >= 60 ? 'high' : 'medium'),
        `The request was sent on a pooled connection idle for ${formatSeconds(idle!)} and was answered at once by a TCP RST from ${serverName}: a stateful hop on the path had forgotten the connection${extra.length ? ' (the target behind it never saw the request)' : ''}.${fitText}`,
        idleResetAdvice(fits, idle!),
        { idleSeconds: idle, resetBy: serverName, fits, extraEvidence: extra },
      );
    }
    return verdict(
      'target-reset',
      prompt ? 'medium' : 'high',
      `The target side reset the connection (RST from ${serverName}) ${formatSeconds(rst.time - reqT)} after the request, while the request was outstanding${idle !== null && idle < 1 ? ' (the connection was not idle before)' : ''}.`,
      ['Look at the target at that time: process crash or restart, a worker killed mid-request, SO_LINGER 0 closes, or a proxy/firewall between them resetting.'],
      { idleSeconds: idle, resetBy: serverName },
    );
  }
  // No answer from the target: did the load balancer give up?
  const lbClose = lbGaveUp;
  if (lbClose || (c.status === 504 && tx.responseFirstByteTime === null)) {
    const waited = lbClose ? lbClose.time - reqT : c.log?.targetProcessingSeconds ?? null;
    return verdict(
      'target-response-timeout',
      lbClose ? 'high' : 'medium',
      `The request reached the target${waited !== null ? ` and nothing came back for ${formatSeconds(waited)}` : ' and no response came back'}; the load balancer gave up${lbClose ? ` and closed the connection with ${lbClose.kind.toUpperCase()}` : ''}.`,
      [
        'Make the target answer faster, or raise the load balancer idle timeout (ALB idle_timeout.timeout_seconds, default 60 s) above the slowest legitimate response.',
        'Check the target for blocked workers, slow dependencies, or a Content-Length larger than the body it sends.',
      ],
      { idleSeconds: idle },
    );
  }
  if (tx.outcome === 'incomplete' || (conn && conn.gapBytes > 0)) {
    return verdict('capture-gap', 'low', 'The mirror did not deliver all the packets of this exchange, so what decided it is not in the capture.', [
      'Check mirror drops: the target\'s receive-buffer drops, MTU truncation (PacketLength), and the mirror session\'s bandwidth limits.',
    ], { missing: ['the packets lost by the mirror on the target connection'] });
  }
  return null;
}

function decideAttempts(c: Case): Verdict | null {
  const tlsFailed = c.targetAttempts.find((a) => a.tlsFailure !== null);
  if (tlsFailed) {
    const { server } = connEndpoints(tlsFailed);
    const f = tlsFailed.tlsFailure!;
    return verdict('tls-handshake-failure', 'high', `The TLS handshake between the load balancer and ${server} failed: the ${f.from === 'server' ? 'target' : 'load balancer'} sent the fatal alert "${f.alert}".`, [
      'Check the target\'s TLS configuration against what the load balancer offers (protocol versions, cipher suites, certificate); an ALB does not validate target certificates but fails on handshake errors and on handshakes slower than 10 s.',
    ]);
  }
  const refused = c.targetAttempts.find((a) => a.refused);
  if (refused) {
    const { server } = connEndpoints(refused);
    return verdict('target-connection-refused', 'high', `The load balancer's connection attempt to ${server} was refused: the SYN was answered by a RST (nothing listening on that port, or a host/firewall rejecting it).`, [
      'Check that the target application is running and listening on the target group port, and that the health check reflects it (it should have marked the target unhealthy).',
    ], { resetBy: server });
  }
  const dropped = c.targetAttempts.find((a) => a.synTimes.length > 0 && a.synAckTime === null);
  if (dropped) {
    const { client, server } = connEndpoints(dropped);
    const tries = dropped.synTimes.length;
    const span = dropped.synTimes.length > 1 ? dropped.synTimes[dropped.synTimes.length - 1]! - dropped.synTimes[0]! : 0;
    const rows = c.flowRows.filter((r) => r.action === 'REJECT');
    if (rows.length) {
      return verdict('flow-log-reject', 'high', `The SYNs from ${client} to ${server} were never answered (${tries} tries over ${formatSeconds(span)}) and the VPC flow logs show them REJECTed: a security group or network ACL blocks the target port.`, [
        'Allow the load balancer\'s security group (or subnet CIDRs) on the target port in the target\'s security group; if the flow log shows ACCEPT one way and REJECT on the return, it is a network ACL (stateless) missing the ephemeral-port return rule (1024-65535).',
      ]);
    }
    if (c.flowLogsGiven && c.inFlowLogs) {
      return verdict('target-connect-timeout', 'high', `The load balancer's SYNs to ${server} were never answered (${tries} tries over ${formatSeconds(span)}); the flow logs show the flow ACCEPTed, so the packets reached the target's interface and the target itself did not answer (host firewall, overloaded or dead target).`, [
        'Check the target host: its local firewall (iptables/nftables), the listen backlog (SYN queue overflow under load), and whether the instance is healthy.',
      ]);
    }
    if (c.flowLogsGiven) {
      return verdict('not-in-flow-logs', 'medium', `The SYNs from ${client} to ${server} were never answered (${tries} tries over ${formatSeconds(span)}) and the flow logs have no record of this flow: the traffic never reached the interface, which points at routing.`, [
        'Check the route tables and the target\'s subnet/ENI: flow logs record REJECTs from security groups and network ACLs, so a flow absent from them did not arrive.',
      ]);
    }
    return verdict('target-connect-timeout', 'high', `The load balancer's SYNs to ${server} were never answered (${tries} tries over ${formatSeconds(span)}): a security group, network ACL, routing, or a dead target drops them.`, [
      'Check the target security group allows the load balancer on the target port, the network ACLs both ways (ephemeral ports on the return), routing, and that the target is up. VPC flow logs (--flow-log) tell a REJECT from an absence.',
    ], { missing: c.flowLogsGiven ? [] : ['VPC flow logs for the target interface, to tell a REJECT from a routing problem'] });
  }
  return null;
}

function buildTimeline(c: Case, v: Verdict): Timeline {
  const legs: Timeline['legs'] = [];
  const marks: TimelineMark[] = [];
  let clientLeg = -1;
  let targetLeg = -1;
  const cc = c.clientConn;
  const tconn = c.targetConn ?? c.targetAttempts[0] ?? null;
  if (cc || c.clientTx || c.log?.clientAddr) {
    clientLeg = legs.length;
    legs.push({
      name: 'client ↔ LB',
      uid: cc?.uid ?? c.clientTx?.connUid ?? null,
      left: cc ? connEndpoints(cc).client : c.clientTx ? endpoint(c.clientTx.clientAddr, c.clientTx.clientPort)! : endpoint(c.log!.clientAddr, c.log!.clientPort)!,
      right: cc ? connEndpoints(cc).server : c.clientTx ? endpoint(c.clientTx.serverAddr, c.clientTx.serverPort)! : 'load balancer',
    });
  }
  if (tconn || c.targetTx || c.log?.targetAddr) {
    targetLeg = legs.length;
    legs.push({
      name: 'LB ↔ target',
      uid: tconn?.uid ?? c.targetTx?.connUid ?? null,
      left: tconn ? connEndpoints(tconn).client : c.targetTx ? endpoint(c.targetTx.clientAddr, c.targetTx.clientPort)! : 'load balancer',
      right: tconn ? connEndpoints(tconn).server : c.targetTx ? endpoint(c.targetTx.serverAddr, c.targetTx.serverPort)! : endpoint(c.log!.targetAddr, c.log!.targetPort)!,
    });
  }
  const addTx = (tx: TxView | null, leg: number) => {
    if (!tx || leg < 0) return;
    if (tx.requestFirstByteTime !== null) marks.push({ time: tx.requestFirstByteTime, leg, dir: 0, kind: 'request', label: `${tx.method ?? '?'} ${tx.path ?? '?'}` });
    if (tx.responseFirstByteTime !== null) marks.push({ time: tx.responseFirstByteTime, leg, dir: 1, kind: 'response', label: tx.status !== null ? `HTTP ${tx.status}` : 'response' });
  };
  addTx(c.clientTx, clientLeg);
  addTx(c.targetTx, targetLeg);
  const focus = c.targetTx?.requestFirstByteTime ?? c.clientTx?.requestFirstByteTime ?? c.log?.requestTime ?? c.log?.time ?? null;
  const addConn = (conn: ConnView | null, leg: number) => {
    if (!conn || leg < 0) return;
    for (const m of conn.marks) {
      if (m.kind === 'data' || m.kind === 'keep-alive') continue;
      if (focus !== null && m.kind !== 'syn' && m.kind !== 'synack' && Math.abs(m.time - focus) > 600) continue;
      const label = m.kind === 'synack' ? 'SYN-ACK' : m.kind.toUpperCase();
      marks.push({ time: m.time, leg, dir: m.fromClient ? 0 : 1, kind: m.kind, label });
    }
  };
  addConn(c.clientConn, clientLeg);
  addConn(tconn, targetLeg);
  if (v.idleSeconds !== null && c.targetTx?.requestFirstByteTime != null && targetLeg >= 0) {
    const t = c.targetTx.requestFirstByteTime - v.idleSeconds;
    marks.push({ time: t, leg: targetLeg, dir: -1, kind: 'note', label: 'last packet before idle' });
    marks.push({ time: t, leg: targetLeg, dir: -1, kind: 'idle', label: `idle ${formatSeconds(v.idleSeconds)}` });
  }
  if (c.log && c.log.elbStatus !== null) {
    // A note on the load balancer's lifeline (column 1 with a client leg, else column 0).
    const lbCol = clientLeg >= 0 ? clientLeg + 1 : 0;
    marks.push({ time: c.log.time - c.skewSeconds, leg: lbCol, dir: -1, kind: 'log', label: `access log: ${c.log.elbStatus}${c.log.targetStatus === null ? ' (target_status_code -)' : ` (target ${c.log.targetStatus})`}` });
  }
  marks.sort((a, b) => a.time - b.time);
  return { legs, marks: marks.slice(0, 200) };
}

function buildEvidence(c: Case, v: Verdict): Evidence[] {
  const ev: Evidence[] = [];
  if (c.log) ev.push({ time: c.log.time - c.skewSeconds, source: c.log.kind === 'nlb' ? 'nlb-log' : 'alb-log', text: `${c.log.file}:${c.log.line}: ${c.log.raw}` });
  const txText = (tx: TxView, side: string) =>
    `${side} ${tx.httpVersion ?? 'HTTP'} ${tx.method ?? '?'} ${tx.path ?? '?'} → ${tx.status ?? 'no response'}${tx.endedBy ? ` (ended by ${tx.endedBy})` : ''}, request #${tx.requestIndexOnConnection ?? '?'} on connection ${tx.connUid}${tx.idleBeforeRequestSeconds !== null ? `, idle ${formatSeconds(tx.idleBeforeRequestSeconds)} before it` : ''}${tx.traceId ? `, X-Amzn-Trace-Id ${tx.traceId}` : ''}`;
  if (c.clientTx) ev.push({ time: c.clientTx.requestFirstByteTime, source: 'http', text: txText(c.clientTx, 'client side:') });
  if (c.targetTx) ev.push({ time: c.targetTx.requestFirstByteTime, source: 'http', text: txText(c.targetTx, 'target side:') });
  const conn = c.targetConn;
  const reqT = c.targetTx?.requestFirstByteTime ?? null;
  if (conn) {
    const { client, server } = connEndpoints(conn);
    for (const m of conn.marks) {
      if (m.kind !== 'rst' && m.kind !== 'fin') continue;
      if (reqT !== null && Math.abs(m.time - reqT) > 30) continue;
      const from = m.fromClient ? client : server;
      const to = m.fromClient ? server : client;
      const acks = m.acksAllPeerData === null ? '' : m.acksAllPeerData ? ', acknowledging all data sent to it' : ', NOT acknowledging the request bytes';
      ev.push({ time: m.time, source: 'packet', text: `${m.kind.toUpperCase()} ${from} → ${to} after ${formatSeconds(m.idleBeforeSeconds)} of silence on the connection${acks}` });
    }
  }
  for (const a of c.targetAttempts) {
    const { client, server } = connEndpoints(a);
    if (a.tlsFailure) ev.push({ time: a.startTime, source: 'tls', text: `TLS handshake ${client} → ${server} failed: fatal alert ${a.tlsFailure.alert} from the ${a.tlsFailure.from}` });
    if (a.refused) ev.push({ time: a.startTime, source: 'packet', text: `SYN ${client} → ${server} answered by RST` });
    else if (a.synAckTime === null) ev.push({ time: a.startTime, source: 'packet', text: `SYN ${client} → ${server} unanswered (${a.synTimes.length} SYNs, connection state ${a.connState})` });
  }
  for (const r of c.flowRows) ev.push({ time: r.start, source: 'flow-log', text: `${r.file}:${r.line}: ${r.raw}` });
  ev.push(...v.extraEvidence);
  ev.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
  return ev;
}

function missingFor(c: Case): string[] {
  const m: string[] = [];
  if (!c.captureCovers) m.push('packets: the capture does not cover the time of this request');
  else if (!c.targetSideSeen) m.push('target-side packets: mirror the load balancer\'s target-facing interface (or the target\'s ENI)');
  else if (!c.targetTx && c.targetAttempts.length === 0) m.push('the target-side request: no matching load balancer → target request was found near this time');
  if (c.log === null) m.push('the load balancer access log line (--alb-log) for this request');
  if (c.clientTx === null && c.log === null) m.push('the client-side transaction (key log for the client TLS session?)');
  return m;
}

let findingCounter = 0;

export function diagnose(c: Case, opts: DiagnoseOptions = {}): Finding {
  let v: Verdict | null = null;
  if (c.status === 460 || (c.clientTx && c.clientTx.outcome === 'no-response' && c.clientTx.endedBy === 'client-close')) {
    v = verdict('client-closed', 'high', 'The client closed the connection before the load balancer could answer (ALB logs this as 460).', [
      'Raise the client\'s timeout above the slowest response, or make the target answer faster; nothing is wrong on the load balancer side.',
    ]);
  }
  if (!v && c.targetTx) v = decideTargetSide(c, c.targetTx, c.targetConn, opts);
  if (!v) v = decideAttempts(c);
  if (!v && c.clientTx && (c.clientTx.endedBy === 'rst-stream' || c.clientTx.endedBy === 'goaway')) {
    v = decideTargetSide(c, c.clientTx, c.clientConn, opts);
  }
  if (!v && c.status === 504 && c.log && c.log.targetProcessingSeconds === null && c.log.requestProcessingSeconds === null && !c.targetSideSeen) {
    v = verdict('unexplained', 'low', 'The load balancer answered 504 and the capture has no target-side packets to tell a connect timeout from a response timeout.', []);
  }
  if (!v) {
    v = verdict('unexplained', 'low', `No packet evidence explains this ${c.status ?? 'error'}.`, [], {});
  }
  if (v.kind === 'unexplained') v.missing = [...v.missing, ...missingFor(c)];
  const { method, path } = reqLabel(c.targetTx, c);
  const reqTime = c.clientTx?.requestFirstByteTime ?? (c.log?.requestTime != null ? c.log.requestTime - c.skewSeconds : null) ?? c.targetTx?.requestFirstByteTime ?? null;
  const client = c.log?.clientAddr != null ? endpoint(c.log.clientAddr, c.log.clientPort) : c.clientTx ? endpoint(c.clientTx.clientAddr, c.clientTx.clientPort) : null;
  const tconn = c.targetConn ?? c.targetAttempts[0] ?? null;
  const uids = [c.clientConn?.uid ?? c.clientTx?.connUid, tconn?.uid ?? c.targetTx?.connUid, ...c.targetAttempts.map((a) => a.uid)].filter(
    (u): u is string => typeof u === 'string',
  );
  findingCounter++;
  return {
    id: `F${findingCounter}`,
    kind: v.kind,
    severity: SEVERITY[v.kind],
    confidence: v.confidence,
    summary: v.summary,
    status: c.status,
    request: method !== null || path !== null || reqTime !== null ? { method, path, time: reqTime } : null,
    client,
    targetConnection: tconn ? { uid: tconn.uid, ...connEndpoints(tconn) } : c.targetTx ? { uid: c.targetTx.connUid, client: endpoint(c.targetTx.clientAddr, c.targetTx.clientPort)!, server: endpoint(c.targetTx.serverAddr, c.targetTx.serverPort)! } : null,
    resetBy: v.resetBy,
    idleSeconds: v.idleSeconds,
    timeoutFits: v.fits,
    evidence: buildEvidence(c, v),
    advice: v.advice,
    missing: v.missing,
    connectionUids: [...new Set(uids)],
    timeline: buildTimeline(c, v),
  };
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

export { lastBefore };
