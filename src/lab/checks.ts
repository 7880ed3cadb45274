/**
 * The facts each scenario must show before anyone analyzes anything: the status in the ALB access
 * log (parsed by our logs stage), what curl got, what the decrypted client-side capture shows, and
 * on the ALB→NLB connection the packet-level story (who sent the RST, after how long idle, a FIN
 * that crossed the request, SYNs never answered, a request acknowledged and never answered).
 */
import { readFileSync } from 'node:fs';
import { parseAlbLine, type AlbLogRecord } from '../logs/alb.js';
import { isLineError } from '../logs/types.js';
import { ACK, FIN, NLB_VIP, RST, SYN, TARGET_EP, connOf, describe, ep, requestWithTrace, type GoawayFrame, type Pkt } from './packets.js';
import { ADDR } from './topology.js';
import type { CheckResult, ClientResult } from './result.js';
import type { GoawayFate, Scenario } from './scenarios.js';

export interface CheckInput {
  pkts: readonly Pkt[];
  albLog: string;
  targetLog: string;
  clients: readonly ClientResult[];
  load?: { connections: number; requests: number; errors: number; statuses: Record<string, number> };
  /** The run's VPC flow log, when the scenario writes one. */
  flowLog?: string;
  /** ICMP errors on the ALB's target side (tshark), with the source port of the segment they quote. */
  icmp?: { time: number; src: string; type: number; code: number; quotedSport: number }[];
  /** HTTP/2 GOAWAY frames in the capture (h2-goaway). */
  goaways?: GoawayFrame[];
}

export interface TargetEvent {
  time: number;
  event: string;
  error?: string;
  action?: string;
  url?: string;
  traceId?: string | null;
}

export function readAlbLog(file: string): AlbLogRecord[] {
  const out: AlbLogRecord[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const r = parseAlbLine(line);
    if (isLineError(r)) throw new Error(`${file}:${i + 1}: not an ALB access-log line: ${r.reason}`);
    out.push(r);
  });
  return out;
}

function readTargetLog(file: string): TargetEvent[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TargetEvent);
}

/** Facts about the failing request's ALB→NLB connection, reused by the verdict checks and docs. */
export interface FailureFacts {
  record?: AlbLogRecord;
  request?: Pkt;
  /** Seconds between the request and the previous packet on its connection. */
  idleSeconds?: number;
  reset?: Pkt;
  serverFin?: Pkt;
}

export function failureFacts(s: Scenario, pkts: readonly Pkt[], records: readonly AlbLogRecord[]): FailureFacts {
  const f: FailureFacts = {};
  f.record = records.find((r) => r.path === s.expectPath);
  if (!f.record?.traceId) return f;
  f.request = requestWithTrace(pkts, f.record.traceId);
  if (!f.request) return f;
  const conn = connOf(pkts, f.request);
  const i = conn.indexOf(f.request);
  if (i > 0) f.idleSeconds = f.request.time - conn[i - 1]!.time;
  const fromServer = (p: Pkt): boolean => ep(p.src, p.sport) === NLB_VIP;
  f.reset = conn.slice(i + 1).find((p) => fromServer(p) && (p.flags & RST) !== 0);
  f.serverFin = conn.find((p) => fromServer(p) && (p.flags & FIN) !== 0);
  return f;
}

export function runChecks(s: Scenario, inp: CheckInput): CheckResult[] {
  const out: CheckResult[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    out.push({ name, ok, detail });
  };
  let records: AlbLogRecord[] = [];
  try {
    records = readAlbLog(inp.albLog);
    check('ALB access log parses', records.length > 0, `${records.length} lines, ${records[0]?.fieldCount ?? 0} fields each`);
  } catch (e) {
    check('ALB access log parses', false, (e as Error).message);
  }
  const { pkts } = inp;
  check('capture has packets from all three mirror sessions', ['client-side', 'alb-target-side', 'target-eni'].every((side) => pkts.some((p) => p.side === side)) || (s.name === 'refused' || s.name === 'syn-drop' || s.name === 'icmp-unreachable'), countSides(pkts));

  if (s.load && inp.load) {
    const l = inp.load;
    const want = Math.min(s.load.requests, l.requests);
    check('load: every request answered 200', l.errors === 0 && (l.statuses['200'] ?? 0) === l.requests, JSON.stringify(l.statuses) + ` errors ${l.errors}`);
    check('load: ALB log has a 200 line per request', records.filter((r) => r.elbStatusCode === 200).length === l.requests, `${records.length} lines for ${want} requests`);
    const hellos = pkts.filter((p) => p.side === 'client-side' && p.tlsHandshake.includes(1)).length;
    check('load: one TLS ClientHello per connection in the capture', hellos === l.connections, `${hellos} ClientHellos, ${l.connections} connections`);
    const decrypted = pkts.filter((p) => p.side === 'client-side' && p.uris.some((u) => u.startsWith('/load/'))).length;
    check('load: client side decrypts (requests visible)', decrypted === l.requests, `${decrypted} decrypted requests of ${l.requests}`);
    return out;
  }

  if (s.goaway) {
    goawayChecks(s, inp, records, check);
    return out;
  }

  const failing = inp.clients.find((c) => c.path === s.expectPath);
  const clientStatus = s.expectClientStatus ?? s.expectStatus;
  if (s.expectClientStatus !== undefined) check(`curl got the target's ${clientStatus} head for ${s.expectPath}, then a body cut short`, failing?.status === clientStatus && failing.error !== undefined, failing ? `got ${failing.status}, ${failing.error ?? 'complete'}` : 'request not made');
  else if (s.expectStatus === 460) check(`curl gave up on ${s.expectPath} without an answer`, failing !== undefined && failing.status === 0 && failing.error !== undefined, failing ? `status ${failing.status}, ${failing.error ?? 'no error'}` : 'request not made');
  else check(`curl got ${s.expectStatus} for ${s.expectPath}`, failing?.status === s.expectStatus, failing ? `got ${failing.status || failing.error}` : 'request not made');
  const f = failureFacts(s, pkts, records);
  const rec = f.record;
  const lbError = s.expectStatus >= 400; // the ALB's own answer: no target status
  const wantTarget = s.expectTargetStatus ?? (lbError ? null : s.expectStatus);
  check(
    `ALB log: ${s.expectStatus} with target_status_code ${wantTarget ?? '-'} for ${s.expectPath}`,
    rec !== undefined && rec.elbStatusCode === s.expectStatus && rec.targetStatusCode === wantTarget,
    rec ? `${rec.type} ${rec.elbStatusCode} ${rec.targetStatusCode ?? '-'} "${rec.request.raw}" trace ${rec.traceId}` : 'no line for the path',
  );
  if (s.client.http2) check('ALB log: type h2, HTTP/2.0 request', rec?.type === 'h2' && rec.request.protocol === 'HTTP/2.0', rec ? `${rec.type} ${rec.request.protocol}` : '-');
  if (s.client.tls12Cipher) check(`ALB log: ${s.client.tls12Cipher} TLSv1.2`, rec?.sslCipher === s.client.tls12Cipher && rec.sslProtocol === 'TLSv1.2', rec ? `${rec.sslCipher} ${rec.sslProtocol}` : '-');

  // Client side, decrypted with the key log: the request and the ALB's status.
  const cReq = pkts.find((p) => p.side === 'client-side' && p.uris.includes(s.expectPath ?? ''));
  const targetEvents = readTargetLog(inp.targetLog);
  const targetSaw = rec?.traceId ? targetEvents.find((e) => e.event === 'request' && e.traceId === rec.traceId) : undefined;
  if (s.expectStatus === 460) {
    // The client left: its FIN (or RST) on the client side, then the ALB drops the target connection.
    const bye = cReq && pkts.find((p) => p.side === 'client-side' && p.time > cReq.time && p.src === cReq.src && p.sport === cReq.sport && (p.flags & (FIN | RST)) !== 0);
    const answered = cReq !== undefined && pkts.some((p) => p.side === 'client-side' && p.time > cReq.time && p.dport === cReq.sport && p.statuses.length > 0);
    check(`client side decrypts: ${s.expectPath} sent, then the client closed before any answer`, cReq !== undefined && bye !== undefined && !answered, cReq ? (bye ? `request ${describe(cReq)}; close ${describe(bye)}` : 'no close from the client') : 'request not found in decrypted client side');
    const albBye = f.request && connOf(pkts, f.request).find((p) => p.time > f.request!.time && ep(p.dst, p.dport) === NLB_VIP && (p.flags & (FIN | RST)) !== 0);
    check('the ALB then closed its connection to the target', albBye !== undefined, albBye ? describe(albBye) : 'no FIN/RST from the ALB on the target side');
    return out;
  }
  const cResp = cReq && pkts.find((p) => p.side === 'client-side' && p.time >= cReq.time && p.statuses.includes(clientStatus));
  check(`client side decrypts: ${s.expectPath} answered ${clientStatus}`, cReq !== undefined && cResp !== undefined, cReq ? (cResp ? `request ${describe(cReq)}; response ${describe(cResp)}` : 'request found, status not') : 'request not found in decrypted client side');
  if (s.client.http2) {
    const alpn = pkts.some((p) => p.side === 'client-side' && p.alpn.includes('h2'));
    check('client negotiated h2 by ALPN', alpn, alpn ? 'ALPN h2 in the handshake' : 'no ALPN h2');
  }

  switch (s.expectKind) {
    case 'idle-timeout-reset': {
      check('request sent on a pooled connection', f.request !== undefined && f.idleSeconds !== undefined, f.request ? describe(f.request) : 'no ALB→NLB request with the log trace id');
      check(`idle ≥ NLB idle timeout (${s.nlbIdleSeconds} s) before the request`, (f.idleSeconds ?? 0) >= s.nlbIdleSeconds, `idle ${f.idleSeconds?.toFixed(3)} s`);
      check(`RST from the NLB (${NLB_VIP}) answers the request`, f.reset !== undefined && f.reset.time - (f.request?.time ?? 0) < 0.5, f.reset ? describe(f.reset) : 'no RST');
      check('the target never saw the request', targetSaw === undefined, targetSaw ? `target logged it at ${targetSaw.time}` : 'not in the target log');
      const tgtPkts = pkts.filter((p) => p.side === 'target-eni' && f.request && p.time >= f.request.time - 0.01 && ep(p.dst, p.dport) === TARGET_EP && p.len > 0);
      check('no request bytes reached the target ENI after it', tgtPkts.length === 0, tgtPkts.length ? tgtPkts.map(describe).join('; ') : 'no data toward the target on the target leg');
      break;
    }
    case 'keepalive-race': {
      check('request sent on a pooled connection', f.request !== undefined, f.request ? describe(f.request) : 'no ALB→NLB request with the log trace id');
      const fin = f.serverFin;
      check('the target FIN reached the ALB after it sent the request', fin !== undefined && f.request !== undefined && fin.time > f.request.time, fin ? describe(fin) : 'no FIN from the target');
      check('that FIN does not acknowledge the request (sent before the target saw it)', fin !== undefined && f.request !== undefined && fin.ack === f.request.seq, fin && f.request ? `FIN ack ${fin.ack}, request seq ${f.request.seq}` : '-');
      check('then an RST', f.reset !== undefined, f.reset ? describe(f.reset) : 'no RST');
      const tFin = pkts.find((p) => p.side === 'target-eni' && ep(p.src, p.sport) === TARGET_EP && (p.flags & FIN) !== 0 && f.request !== undefined && p.time > f.request.time - 3 && p.time < f.request.time + 1);
      const tReq = pkts.find((p) => p.side === 'target-eni' && f.request !== undefined && p.headerLines.some((h) => h.includes(rec?.traceId ?? '\0')));
      check('target ENI: the FIN left the target before the request arrived', tFin !== undefined && tReq !== undefined && tFin.time < tReq.time, tFin && tReq ? `FIN ${describe(tFin)}; request ${describe(tReq)}` : 'FIN or request missing on the target leg');
      const gap = f.idleSeconds ?? 0;
      check(`idle before the request ≥ target keep-alive (${s.target.keepAliveTimeoutMs / 1000} s)`, gap >= s.target.keepAliveTimeoutMs / 1000, `idle ${gap.toFixed(3)} s`);
      break;
    }
    case 'target-reset': {
      check('request delivered to the target', targetSaw?.action === 'reset', targetSaw ? `target: ${targetSaw.action}` : 'not in the target log');
      check(`RST (through the NLB, from ${NLB_VIP}) after the request`, f.reset !== undefined, f.reset ? describe(f.reset) : 'no RST');
      const tRst = pkts.find((p) => p.side === 'target-eni' && ep(p.src, p.sport) === TARGET_EP && (p.flags & RST) !== 0);
      check(`target ENI: the RST comes from the target (${TARGET_EP})`, tRst !== undefined, tRst ? describe(tRst) : 'no RST on the target leg');
      break;
    }
    case 'target-closed-before-response': {
      check('request delivered to the target', targetSaw?.action === 'close', targetSaw ? `target: ${targetSaw.action}` : 'not in the target log');
      const fin = f.serverFin;
      check('FIN from the target side after the request, acknowledging it', fin !== undefined && f.request !== undefined && fin.time > f.request.time && fin.ack === f.request.seq + f.request.len, fin ? describe(fin) : 'no FIN');
      const data = f.request ? connOf(pkts, f.request).some((p) => p.time > f.request!.time && ep(p.src, p.sport) === NLB_VIP && p.len > 0) : true;
      check('no response bytes', !data, data ? 'the target sent data' : 'none');
      break;
    }
    case 'target-connection-refused': {
      const syn = pkts.find((p) => p.side === 'alb-target-side' && ep(p.dst, p.dport) === NLB_VIP && p.flags === SYN);
      const rst = syn && pkts.find((p) => p.side === 'alb-target-side' && p.time >= syn.time && p.dport === syn.sport && (p.flags & RST) !== 0);
      check('SYN to the NLB answered by RST', syn !== undefined && rst !== undefined, syn ? (rst ? `${describe(syn)}; ${describe(rst)}` : 'SYN unanswered') : 'no SYN');
      check('ALB log: request_processing_time -1 (never dispatched)', rec?.requestProcessingSeconds === null, rec ? String(rec.requestProcessingSeconds) : '-');
      break;
    }
    case 'target-connect-timeout':
    case 'flow-log-reject': {
      const syns = pkts.filter((p) => p.side === 'alb-target-side' && ep(p.dst, p.dport) === NLB_VIP && p.flags === SYN);
      const ports = new Set(syns.map((p) => p.sport));
      const answered = pkts.some((p) => p.side === 'alb-target-side' && ports.has(p.dport) && (p.flags & (SYN | ACK)) === (SYN | ACK));
      check('SYNs to the NLB never answered', syns.length > 0 && !answered, `${syns.length} SYN(s) from port(s) ${[...ports].join(',')}, ${answered ? 'a SYN-ACK came back' : 'no SYN-ACK'}`);
      const waited = rec && rec.requestCreationTime !== null ? rec.time - rec.requestCreationTime : 0;
      check(`ALB gave up after its connect timeout (${s.connectTimeoutSeconds} s)`, Math.abs(waited - s.connectTimeoutSeconds) < 0.5, `${waited.toFixed(3)} s between request and response`);
      break;
    }
    case 'target-response-timeout': {
      const acked = f.request && pkts.find((p) => p.side === 'alb-target-side' && p.stream === f.request!.stream && ep(p.src, p.sport) === NLB_VIP && p.ack >= f.request!.seq + f.request!.len);
      check('request delivered and acknowledged', acked !== undefined, acked ? describe(acked) : 'no ACK covering the request');
      const conn = f.request ? connOf(pkts, f.request) : [];
      const answered = conn.some((p) => p.time > (f.request?.time ?? 0) && ep(p.src, p.sport) === NLB_VIP && p.len > 0);
      check('no response before the ALB gave up', !answered, answered ? 'target data seen' : 'no response bytes');
      const albFin = conn.find((p) => p.time > (f.request?.time ?? 0) && ep(p.dst, p.dport) === NLB_VIP && (p.flags & FIN) !== 0);
      const waited = albFin && f.request ? albFin.time - f.request.time : 0;
      check(`ALB closed the connection after ${s.readTimeoutSeconds} s`, Math.abs(waited - s.readTimeoutSeconds) < 0.5, albFin ? `${describe(albFin)} (${waited.toFixed(3)} s)` : 'no FIN from the ALB');
      break;
    }
    case 'return-path-blocked': {
      const syns = pkts.filter((p) => p.side === 'alb-target-side' && ep(p.dst, p.dport) === NLB_VIP && p.flags === SYN);
      const ports = new Set(syns.map((p) => p.sport));
      const answered = pkts.some((p) => p.side === 'alb-target-side' && ports.has(p.dport) && (p.flags & (SYN | ACK)) === (SYN | ACK));
      check('SYNs to the NLB never answered', syns.length > 0 && !answered, `${syns.length} SYN(s), ${answered ? 'a SYN-ACK came back' : 'no SYN-ACK'}`);
      const arrived = pkts.filter((p) => p.side === 'target-eni' && ep(p.dst, p.dport) === TARGET_EP && p.flags === SYN);
      const synAcks = pkts.filter((p) => p.side === 'target-eni' && ep(p.src, p.sport) === TARGET_EP && (p.flags & (SYN | ACK)) === (SYN | ACK));
      check('target ENI: the SYNs arrived, no SYN-ACK left (dropped before the mirror)', arrived.length > 0 && synAcks.length === 0, `${arrived.length} SYN(s) in, ${synAcks.length} SYN-ACK(s) out`);
      const rows = inp.flowLog ? readFileSync(inp.flowLog, 'utf8').split('\n').filter((l) => l.includes(` ${TARGET_EP.split(':')[0]} `) && l.endsWith(' REJECT OK')) : [];
      const back = rows.filter((l) => l.split(' ')[3] === TARGET_EP.split(':')[0] && l.split(' ')[5] === TARGET_EP.split(':')[1]);
      check("the target ENI's flow log REJECTs its replies from the target port", back.length > 0, back[0] ?? `no such REJECT row (${rows.length} REJECT rows)`);
      const waited = rec && rec.requestCreationTime !== null ? rec.time - rec.requestCreationTime : 0;
      check(`ALB gave up after its connect timeout (${s.connectTimeoutSeconds} s)`, Math.abs(waited - s.connectTimeoutSeconds) < 0.5, `${waited.toFixed(3)} s between request and response`);
      break;
    }
    case 'target-unreachable': {
      const syn = pkts.find((p) => p.side === 'alb-target-side' && ep(p.dst, p.dport) === NLB_VIP && p.flags === SYN);
      const synAck = syn && pkts.some((p) => p.side === 'alb-target-side' && p.dport === syn.sport && (p.flags & (SYN | ACK)) === (SYN | ACK));
      check('SYN to the NLB never answered by a SYN-ACK', syn !== undefined && !synAck, syn ? describe(syn) : 'no SYN');
      const icmp = inp.icmp ?? [];
      const hit = syn && icmp.find((m) => m.quotedSport === syn.sport && m.type === 3);
      check('an ICMP destination unreachable quoting that SYN came back to the ALB', hit !== undefined, hit ? `ICMP type ${hit.type} code ${hit.code} from ${hit.src}` : `${icmp.length} ICMP messages, none quoting port ${syn?.sport ?? '-'}`);
      check('ALB log: request_processing_time -1 (never dispatched)', rec?.requestProcessingSeconds === null, rec ? String(rec.requestProcessingSeconds) : '-');
      check('the target never saw a connection', !targetEvents.some((e) => e.event === 'open'), targetEvents.filter((e) => e.event === 'open').length + ' connections');
      break;
    }
    case 'tls-handshake-failure': {
      const hello = pkts.find((p) => p.side === 'alb-target-side' && ep(p.dst, p.dport) === NLB_VIP && p.tlsHandshake.includes(1));
      const alert = hello && pkts.find((p) => p.side === 'alb-target-side' && p.time >= hello.time && ep(p.src, p.sport) === NLB_VIP && p.dport === hello.sport && p.tlsAlerts.length > 0);
      check('the ALB\'s ClientHello to the target answered by a TLS alert', alert !== undefined, hello ? (alert ? `${describe(hello)}; alert ${alert.tlsAlerts.join(',')} ${describe(alert)}` : 'no alert back') : 'no ClientHello from the ALB');
      check('that alert is protocol_version (70): no common TLS version', alert?.tlsAlerts.includes(70) === true, alert ? alert.tlsAlerts.join(',') : '-');
      const tlsErr = targetEvents.find((e) => e.event === 'tls-error');
      check('the target logged the failed handshake', tlsErr !== undefined, tlsErr ? JSON.stringify(tlsErr) : 'no tls-error in the target log');
      check('ALB log: request_processing_time -1 (never dispatched)', rec?.requestProcessingSeconds === null, rec ? String(rec.requestProcessingSeconds) : '-');
      break;
    }
    case 'response-headers-too-large': {
      const resp = f.request && connOf(pkts, f.request).find((p) => p.time > f.request!.time && ep(p.src, p.sport) === NLB_VIP && p.responseLines.length > 0);
      const headBytes = resp ? resp.responseLines.reduce((a, l) => a + l.length + 2, 0) : 0;
      check('the target answered with a response head over 32 KB', headBytes > 32 * 1024, resp ? `${describe(resp)}: ${headBytes} bytes of header lines` : 'no response head from the target');
      check('the target logged its answer', targetSaw?.action === 'respond', targetSaw ? `target: ${targetSaw.action}` : 'not in the target log');
      break;
    }
    case 'content-length-mismatch': {
      const conn = f.request ? connOf(pkts, f.request) : [];
      const fromTarget = conn.filter((p) => p.time > (f.request?.time ?? 0) && ep(p.src, p.sport) === NLB_VIP);
      const declared = fromTarget.map((p) => p.contentLength).find((n) => n !== null) ?? null;
      const bytes = fromTarget.reduce((a, p) => a + p.len, 0);
      check('the target declared a Content-Length larger than all it sent (head included)', declared !== null && bytes < declared, `Content-Length ${declared ?? '-'}, ${bytes} bytes from the target`);
      const albBye = conn.find((p) => p.time > (f.request?.time ?? 0) && ep(p.dst, p.dport) === NLB_VIP && (p.flags & (FIN | RST)) !== 0);
      const lastData = fromTarget.filter((p) => p.len > 0).pop();
      const waited = albBye && lastData ? albBye.time - lastData.time : 0;
      check(`the ALB waited ${s.readTimeoutSeconds} s for the rest, then closed`, Math.abs(waited - s.readTimeoutSeconds) < 0.5, albBye ? `${describe(albBye)} (${waited.toFixed(3)} s after the last data)` : 'no FIN/RST from the ALB');
      break;
    }
    case 'deregistered-in-flight': {
      const received = rec?.traceId ? targetEvents.find((e) => e.event === 'received' && e.traceId === rec.traceId) : undefined;
      check('request delivered to the target (it was still working on it)', received !== undefined, received ? `target received it at ${received.time}` : 'not in the target log');
      const conn = f.request ? connOf(pkts, f.request) : [];
      const albRst = conn.find((p) => p.time > (f.request?.time ?? 0) && ep(p.dst, p.dport) === NLB_VIP && (p.flags & RST) !== 0);
      const answered = conn.some((p) => p.time > (f.request?.time ?? 0) && ep(p.src, p.sport) === NLB_VIP && p.len > 0 && (!albRst || p.time < albRst.time));
      const after = albRst && f.request ? albRst.time - f.request.time : 0;
      check(`the ALB reset its own connection to the target ${s.deregisterAfterMs} ms into the request, with no answer begun`, albRst !== undefined && !answered && Math.abs(after * 1000 - (s.deregisterAfterMs ?? 0)) < 500, albRst ? `${describe(albRst)} (${after.toFixed(3)} s after the request)` : 'no RST from the ALB');
      break;
    }
    default:
      break;
  }
  return out;
}

/**
 * h2-goaway: the GOAWAY on the decrypted client side, what the client got, what the ALB logged and
 * how often each request was sent (the cut ones twice when the client retries them).
 */
function goawayChecks(s: Scenario, inp: CheckInput, records: readonly AlbLogRecord[], check: (name: string, ok: boolean, detail: string) => void): void {
  const { pkts } = inp;
  const alpn = pkts.some((p) => p.side === 'client-side' && p.alpn.includes('h2'));
  check('client negotiated h2 by ALPN', alpn, alpn ? 'ALPN h2 in the handshake' : 'no ALPN h2');
  check('ALB log: type h2, HTTP/2.0 requests', records.length > 0 && records.every((r) => r.type === 'h2' && r.request.protocol === 'HTTP/2.0'), records.map((r) => `${r.type} ${r.request.protocol}`).join(', ') || 'no lines');
  const g = s.goaway!;
  const sent = (inp.goaways ?? []).filter((x) => x.src === ADDR.albFront && x.sport === 443);
  check(`the ALB sent one GOAWAY to the client: last-stream-id ${g.lastStreamId}, NO_ERROR`, sent.length === 1 && sent[0]!.lastStreamId === g.lastStreamId && sent[0]!.errorCode === 0, sent.map((x) => `${x.src}:${x.sport} > ${x.dst}:${x.dport} last-stream-id ${x.lastStreamId} error ${x.errorCode}`).join('; ') || 'no GOAWAY from the ALB');
  // What each request should have become: answered before the GOAWAY (200), or cut and then retried
  // and answered (200), never sent again (an error, no status), or retried and failed (502: the
  // retry reached the target, which reset it).
  const fate = (p: string): GoawayFate | 'answered' => g.cut[p] ?? 'answered';
  const wantStatus = (p: string): number => (fate(p) === 'not-retried' ? 0 : fate(p) === 'retry-failed' ? 502 : 200);
  const got = inp.clients.map((c) => `${c.path} ${c.status || c.error}`).join('; ');
  check(`the client got ${s.requests.map((r) => `${r.path} ${wantStatus(r.path) || 'an error'}`).join(', ')}`, inp.clients.length === s.requests.length && inp.clients.every((c) => c.status === wantStatus(c.path) && (c.status !== 0 || c.error !== undefined)), got);
  // The ALB logs only what it answered: the first connection's requests and the retries, each once.
  const first = records.find((r) => r.path === s.requests[0]!.path);
  const fromFirst = (r: AlbLogRecord): boolean => first !== undefined && r.clientPort === first.clientPort;
  const logged = s.requests.filter((r) => fate(r.path) !== 'not-retried');
  const logOk = records.length === logged.length && logged.every((rq) => records.some((r) => r.path === rq.path && r.elbStatusCode === wantStatus(rq.path) && fromFirst(r) === (fate(rq.path) === 'answered')));
  check(`ALB log: one line for each answered request (${logged.map((r) => `${r.path} ${wantStatus(r.path)}`).join(', ')}), the retries from other client ports (new connections), none for a cut request not retried`, logOk, records.map((r) => `${r.path} ${r.elbStatusCode} port ${r.clientPort}`).join(', '));
  const sentCount = (p: string): number => pkts.filter((x) => x.side === 'client-side' && x.dport === 443).reduce((n, x) => n + x.uris.filter((u) => u === p).length, 0);
  const counts = s.requests.map((r) => `${r.path} ×${sentCount(r.path)}`);
  check('client side decrypts: each retried request sent twice (its stream, then the retry), the others once', s.requests.every((r) => sentCount(r.path) === (fate(r.path) === 'retried' || fate(r.path) === 'retry-failed' ? 2 : 1)), counts.join(', '));
}

function countSides(pkts: readonly Pkt[]): string {
  const n: Record<string, number> = {};
  for (const p of pkts) n[p.side] = (n[p.side] ?? 0) + 1;
  return Object.entries(n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

