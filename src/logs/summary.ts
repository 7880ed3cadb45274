/**
 * LogsSummariser: folds a stream of log records into the report `mirrorlens logs` prints. Memory is
 * bounded: counters per status / target / minute / interface, a capped sample of error lines, and
 * a capped table of flow-log conversations for the network-ACL vs security-group triage.
 */
import type { LogRecord } from './read.js';
import type { AlbLogRecord } from './alb.js';
import type { ClbLogRecord } from './clb.js';
import type { FlowLogRecord } from './flow.js';
import { explainAlbError, explainClbError, explainErrorReason, explainNlbTls, type ErrorExplanation } from './explain.js';
import { TLS_VERIFY_ERRORS } from './alb-conn.js';
import { ownString } from './lines.js';
import { isoMs } from '../capture/time-text.js';

export interface SummaryOptions {
  /** How many error lines to keep with their explanation (all are counted). Default 100. */
  maxErrorLines?: number;
  /** How many distinct flow conversations to track for the triage. Default 200 000. */
  maxFlows?: number;
  /** Expected traffic to look for in flow logs: "traffic absent → routing". */
  expect?: ExpectedFlow[];
}

export interface ExpectedFlow {
  src: string;
  dst: string;
  dstPort?: number;
}

export interface ErrorLine {
  file: string;
  line: number;
  time: string;
  kind: 'alb' | 'clb';
  elb: string;
  client: string;
  target: string | null;
  elbStatusCode: number | null;
  targetStatusCode: number | null;
  requestProcessingSeconds: number | null;
  targetProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  request: string;
  traceId: string | null;
  connTraceId: string | null;
  errorReason: string | null;
  errorReasonMeaning: string | null;
  meaning: string;
  likelyCauses: string[];
  origin: ErrorExplanation['origin'];
  pattern: string;
  /** Catalogue ids of the documented causes the line fits, most likely first. */
  causes: string[];
  /** What the log fields cannot tell apart (null when one cause fits). */
  open: string | null;
}

export interface MinuteRow {
  minute: string;
  requests: number;
  elb4xx: number;
  elb5xx: number;
  target5xx: number;
}

export interface TargetRow {
  target: string;
  requests: number;
  elb5xx: number;
  target5xx: number;
}

export interface HttpSection {
  requests: number;
  /** Entries with an error status (4xx, 5xx or 000) from either side. */
  errors: number;
  byElbStatusCode: Record<string, number>;
  byTargetStatusCode: Record<string, number>;
  /** Errors by who produced them and the pattern of fields (`502-target-closed`, ...). */
  byPattern: Record<string, number>;
  byTarget: TargetRow[];
  byErrorReason: Record<string, number>;
  byClassification: Record<string, number>;
  perMinute: MinuteRow[];
  /** 5xx entries (either side). */
  fiveXxCount: number;
  /**
   * Entries worth explaining: every 5xx, and the 4xx/000 the load balancer produced itself (460
   * client closed, 463 X-Forwarded-For too long, 400, 408, ...; not the target's own 404s). All
   * are counted in errorLineCount; the first `maxErrorLines` are kept with their explanation.
   */
  errorLineCount: number;
  errorLines: ErrorLine[];
}

export interface TlsSection {
  connections: number;
  byTlsProtocol: Record<string, number>;
  /** ALB connection logs: mTLS verification failures by code, with meaning. */
  verifyFailures: { code: string; count: number; meaning: string }[];
  /** NLB: TLS alerts received from clients. */
  byIncomingAlert: Record<string, number>;
  /** Connections whose handshake did not complete (no cipher negotiated). */
  handshakeFailures: number;
  /** NLB: failed handshakes (an alert from the client, or no cipher) by pattern (`nlb-tls-alert`, `nlb-tls-incomplete`). */
  byPattern: Record<string, number>;
  /** All NLB failed handshakes; the first `maxErrorLines` are kept with their explanation. */
  failureLineCount: number;
  failureLines: TlsFailureLine[];
}

/** An NLB TLS access-log line whose handshake failed, explained from the verdict catalogue. */
export interface TlsFailureLine {
  file: string;
  line: number;
  time: string;
  elb: string;
  client: string;
  /** Listener address (or the VPC endpoint the client came through). */
  listener: string;
  incomingTlsAlert: number | null;
  incomingTlsAlertName: string | null;
  /** The SNI the client sent (domain_name), null when none. */
  sni: string | null;
  /** chosen_cert_arn was logged: a valid ClientHello arrived. */
  certChosen: boolean;
  /** The alert (or what the line says of the ClientHello) in words. */
  detail: string;
  meaning: string;
  likelyCauses: string[];
  pattern: string;
  /** Catalogue ids of the documented causes the line fits, most likely first. */
  causes: string[];
  open: string | null;
}

export interface InterfaceRow {
  interfaceId: string;
  accepted: number;
  rejected: number;
  noData: number;
  skipData: number;
  packets: number;
  bytes: number;
}

export interface FlowFinding {
  verdict: 'network-acl' | 'security-group-or-network-acl' | 'block-public-access' | 'no-reply-recorded' | 'allowed';
  interfaceId: string;
  protocol: string;
  /** The side that started (best guess: the side talking to the lower port). */
  client: string;
  server: string;
  detail: string;
}

export interface ExpectResult {
  expect: string;
  verdict: 'absent' | 'rejected' | 'accepted' | 'accepted-one-way';
  records: number;
  detail: string;
}

export interface FlowSection {
  records: number;
  accepted: number;
  rejected: number;
  noData: number;
  skipData: number;
  byInterface: InterfaceRow[];
  findings: FlowFinding[];
  findingCounts: Record<string, number>;
  expectations: ExpectResult[];
  /** True when more conversations were seen than tracked (findings then cover the first ones). */
  flowTableFull: boolean;
}

export interface LogsReport {
  http: HttpSection | null;
  tls: TlsSection | null;
  flow: FlowSection | null;
}

const FLAG_ACCEPT_AB = 1;
const FLAG_REJECT_AB = 2;
const FLAG_ACCEPT_BA = 4;
const FLAG_REJECT_BA = 8;
const FLAG_BPA = 16;

interface Conversation {
  eni: string;
  proto: number;
  a: string;
  b: string;
  flags: number;
  /** The first record seen went a → b (tells the initiator when ports cannot, as for ICMP). */
  firstAB: boolean;
}

function inc(m: Record<string, number>, k: string, by = 1): void {
  m[k] = (m[k] ?? 0) + by;
}

function iso(t: number): string {
  return isoMs(Math.floor(t * 1000)) ?? String(t);
}

function endpoint(addr: string | null, port: number | null): string {
  if (addr === null) return '-';
  const a = addr.indexOf(':') >= 0 ? `[${addr}]` : addr;
  return port === null ? a : `${a}:${port}`;
}

function portOf(ep: string): number {
  const i = ep.lastIndexOf(':');
  const p = i >= 0 ? Number(ep.substring(i + 1)) : NaN;
  return Number.isFinite(p) ? p : 65536;
}

/** NLB writes `tlsv12`; ALB writes `TLSv1.2`. One spelling in the report. */
function nlbProtocolName(v: string | null): string {
  if (v === null) return '-';
  const m = /^tlsv1(\d)$/.exec(v);
  return m ? `TLSv1.${m[1]}` : v;
}

const PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };

export class LogsSummariser {
  private readonly maxErrorLines: number;
  private readonly maxFlows: number;
  private readonly expect: ExpectedFlow[];
  private http: HttpSection | null = null;
  private readonly minutes = new Map<number, MinuteRow>();
  private readonly targets = new Map<string, TargetRow>();
  private tls: TlsSection | null = null;
  private readonly verify = new Map<string, number>();
  private flow: FlowSection | null = null;
  private readonly interfaces = new Map<string, InterfaceRow>();
  private readonly conversations = new Map<string, Conversation>();
  private readonly expectHits: { records: number; accept: number; reject: number; reverseAccept: number; reverseReject: number }[];

  constructor(opts: SummaryOptions = {}) {
    this.maxErrorLines = opts.maxErrorLines ?? 100;
    this.maxFlows = opts.maxFlows ?? 200_000;
    this.expect = opts.expect ?? [];
    this.expectHits = this.expect.map(() => ({ records: 0, accept: 0, reject: 0, reverseAccept: 0, reverseReject: 0 }));
  }

  add(r: LogRecord): void {
    switch (r.kind) {
      case 'alb':
      case 'clb':
        this.addHttp(r);
        break;
      case 'alb-conn': {
        const s = this.tlsSection();
        s.connections++;
        inc(s.byTlsProtocol, r.tlsProtocol ?? '-');
        if (r.tlsVerifyError !== null) {
          const n = this.verify.get(r.tlsVerifyError);
          this.verify.set(n === undefined ? ownString(r.tlsVerifyError) : r.tlsVerifyError, (n ?? 0) + 1);
        }
        if (r.tlsProtocol !== null && r.tlsHandshakeSeconds === null) s.handshakeFailures++;
        break;
      }
      case 'nlb': {
        const s = this.tlsSection();
        s.connections++;
        inc(s.byTlsProtocol, nlbProtocolName(r.tlsProtocolVersion));
        if (r.incomingTlsAlert !== null) inc(s.byIncomingAlert, `${r.incomingTlsAlert} ${r.incomingTlsAlertName ?? ''}`.trim());
        if (r.tlsCipher === null) s.handshakeFailures++;
        const ex = explainNlbTls(r);
        if (ex !== null) {
          inc(s.byPattern, ex.pattern);
          s.failureLineCount++;
          if (s.failureLines.length < this.maxErrorLines) {
            s.failureLines.push({
              file: r.file,
              line: r.line,
              time: r.timeString,
              elb: r.elb,
              client: endpoint(r.clientAddr, r.clientPort),
              listener: endpoint(r.destinationAddr, r.destinationPort),
              incomingTlsAlert: r.incomingTlsAlert,
              incomingTlsAlertName: r.incomingTlsAlertName,
              sni: r.domainName,
              certChosen: r.chosenCertArn !== null,
              detail: ex.detail,
              meaning: ex.meaning,
              likelyCauses: ex.likelyCauses,
              pattern: ex.pattern,
              causes: ex.causes,
              open: ex.open,
            });
          }
        }
        break;
      }
      case 'flow':
        this.addFlow(r);
        break;
    }
  }

  private tlsSection(): TlsSection {
    if (this.tls === null) this.tls = { connections: 0, byTlsProtocol: {}, verifyFailures: [], byIncomingAlert: {}, handshakeFailures: 0, byPattern: {}, failureLineCount: 0, failureLines: [] };
    return this.tls;
  }

  private addHttp(r: AlbLogRecord | ClbLogRecord): void {
    if (this.http === null) {
      this.http = {
        requests: 0, errors: 0, byElbStatusCode: {}, byTargetStatusCode: {}, byPattern: {}, byTarget: [],
        byErrorReason: {}, byClassification: {}, perMinute: [], fiveXxCount: 0, errorLineCount: 0, errorLines: [],
      };
    }
    const h = this.http;
    h.requests++;
    const elb = r.elbStatusCode;
    const tgtCode = r.kind === 'alb' ? r.targetStatusCode : r.backendStatusCode;
    const tAddr = r.kind === 'alb' ? r.targetAddr : r.backendAddr;
    const tPort = r.kind === 'alb' ? r.targetPort : r.backendPort;
    inc(h.byElbStatusCode, elb === null ? '-' : String(elb).padStart(3, '0'));
    inc(h.byTargetStatusCode, tgtCode === null ? '-' : String(tgtCode).padStart(3, '0'));
    const target = endpoint(tAddr, tPort);
    let row = this.targets.get(target);
    if (row === undefined && this.targets.size < 10_000) {
      // Map keys and rows outlive the line: own strings, not slices that would pin the read chunk.
      const key = ownString(target);
      row = { target: key, requests: 0, elb5xx: 0, target5xx: 0 };
      this.targets.set(key, row);
    }
    const minuteKey = Math.floor(r.time / 60);
    let m = this.minutes.get(minuteKey);
    if (m === undefined) {
      m = { minute: iso(minuteKey * 60).substring(0, 16) + 'Z', requests: 0, elb4xx: 0, elb5xx: 0, target5xx: 0 };
      this.minutes.set(minuteKey, m);
    }
    m.requests++;
    if (row) row.requests++;
    const elb5 = elb !== null && elb >= 500 && elb <= 599;
    const tgt5 = tgtCode !== null && tgtCode >= 500 && tgtCode <= 599;
    if (elb !== null && elb >= 400 && elb <= 499) m.elb4xx++;
    if (elb5) {
      m.elb5xx++;
      if (row) row.elb5xx++;
    }
    if (tgt5) {
      m.target5xx++;
      if (row) row.target5xx++;
    }
    if (r.kind === 'alb') {
      if (r.errorReason !== null) inc(h.byErrorReason, r.errorReason);
      if (r.classification !== null) inc(h.byClassification, `${r.classification}${r.classificationReason !== null ? ` ${r.classificationReason}` : ''}`);
    }
    const ex = r.kind === 'alb' ? explainAlbError(r) : explainClbError(r);
    // (A Classic LB TCP/SSL line explained has no status: an error line, not an error status.)
    if ((ex !== null && elb !== null) || (tgtCode !== null && tgtCode >= 400)) h.errors++;
    if (ex !== null) inc(h.byPattern, ex.pattern);
    if (elb5 || tgt5) h.fiveXxCount++;
    if (ex !== null && (elb5 || tgt5 || ex.origin === 'load-balancer')) {
      h.errorLineCount++;
      if (h.errorLines.length < this.maxErrorLines) {
        const errorReason = r.kind === 'alb' ? r.errorReason : null;
        h.errorLines.push({
          file: r.file,
          line: r.line,
          time: r.timeString,
          kind: r.kind,
          elb: r.elb,
          client: endpoint(r.clientAddr, r.clientPort),
          target: tAddr === null ? null : target,
          elbStatusCode: elb,
          targetStatusCode: tgtCode,
          requestProcessingSeconds: r.requestProcessingSeconds,
          targetProcessingSeconds: r.kind === 'alb' ? r.targetProcessingSeconds : r.backendProcessingSeconds,
          responseProcessingSeconds: r.responseProcessingSeconds,
          request: r.request.raw,
          traceId: r.kind === 'alb' ? r.traceId : null,
          connTraceId: r.kind === 'alb' ? r.connTraceId : null,
          errorReason,
          errorReasonMeaning: explainErrorReason(errorReason),
          meaning: ex.meaning,
          likelyCauses: ex.likelyCauses,
          origin: ex.origin,
          pattern: ex.pattern,
          causes: ex.causes,
          open: ex.open,
        });
      }
    }
  }

  private addFlow(r: FlowLogRecord): void {
    if (this.flow === null) {
      this.flow = { records: 0, accepted: 0, rejected: 0, noData: 0, skipData: 0, byInterface: [], findings: [], findingCounts: {}, expectations: [], flowTableFull: false };
    }
    const f = this.flow;
    f.records++;
    let eni = r.interfaceId ?? '-';
    let row = this.interfaces.get(eni);
    if (row === undefined) {
      eni = ownString(eni); // kept: not a slice pinning the read chunk
      row = { interfaceId: eni, accepted: 0, rejected: 0, noData: 0, skipData: 0, packets: 0, bytes: 0 };
      if (this.interfaces.size < 100_000) this.interfaces.set(eni, row);
    }
    if (r.logStatus === 'NODATA') {
      f.noData++;
      row.noData++;
      return;
    }
    if (r.logStatus === 'SKIPDATA') {
      f.skipData++;
      row.skipData++;
      return;
    }
    if (r.packets !== null) row.packets += r.packets;
    if (r.bytes !== null) row.bytes += r.bytes;
    const accept = r.action === 'ACCEPT';
    const reject = r.action === 'REJECT';
    if (accept) {
      f.accepted++;
      row.accepted++;
    } else if (reject) {
      f.rejected++;
      row.rejected++;
    }
    const src = r.pktSrcaddr ?? r.srcaddr;
    const dst = r.pktDstaddr ?? r.dstaddr;
    for (let i = 0; i < this.expect.length; i++) {
      const e = this.expect[i]!;
      const hit = this.expectHits[i]!;
      const fwd = (src === e.src || r.srcaddr === e.src) && (dst === e.dst || r.dstaddr === e.dst) && (e.dstPort === undefined || r.dstport === e.dstPort);
      const rev = (src === e.dst || r.srcaddr === e.dst) && (dst === e.src || r.dstaddr === e.src) && (e.dstPort === undefined || r.srcport === e.dstPort);
      if (fwd) {
        hit.records++;
        if (accept) hit.accept++;
        if (reject) hit.reject++;
      } else if (rev) {
        if (accept) hit.reverseAccept++;
        if (reject) hit.reverseReject++;
      }
    }
    if (r.srcaddr === null || r.dstaddr === null || (!accept && !reject)) return;
    const portless = r.protocol === 1 || r.protocol === 58;
    const sa = endpoint(r.srcaddr, portless ? null : r.srcport);
    const da = endpoint(r.dstaddr, portless ? null : r.dstport);
    const ab = sa < da;
    const key = `${eni} ${r.protocol ?? '-'} ${ab ? sa : da} ${ab ? da : sa}`;
    let c = this.conversations.get(key);
    if (c === undefined) {
      if (this.conversations.size >= this.maxFlows) {
        f.flowTableFull = true;
        return;
      }
      // Kept: strings of their own, not slices pinning the read chunk.
      c = { eni: ownString(eni), proto: r.protocol ?? -1, a: ownString(ab ? sa : da), b: ownString(ab ? da : sa), flags: 0, firstAB: ab };
      this.conversations.set(ownString(key), c);
    }
    c.flags |= accept ? (ab ? FLAG_ACCEPT_AB : FLAG_ACCEPT_BA) : ab ? FLAG_REJECT_AB : FLAG_REJECT_BA;
    if (reject && r.rejectReason === 'BPA') c.flags |= FLAG_BPA;
  }

  /** The report so far (may be called more than once). */
  report(maxFindings = 50): LogsReport {
    if (this.http !== null) {
      this.http.perMinute = [...this.minutes.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      this.http.byTarget = [...this.targets.values()].sort((a, b) => b.elb5xx + b.target5xx - (a.elb5xx + a.target5xx) || b.requests - a.requests);
    }
    if (this.tls !== null) {
      this.tls.verifyFailures = [...this.verify.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([code, count]) => ({ code, count, meaning: TLS_VERIFY_ERRORS[code] ?? 'client certificate verification failed' }));
    }
    if (this.flow !== null) {
      const f = this.flow;
      f.byInterface = [...this.interfaces.values()].sort((a, b) => b.rejected - a.rejected || b.accepted - a.accepted);
      f.findings = [];
      f.findingCounts = {};
      const order: FlowFinding['verdict'][] = ['network-acl', 'block-public-access', 'security-group-or-network-acl', 'no-reply-recorded'];
      const all: FlowFinding[] = [];
      for (const c of this.conversations.values()) {
        const fnd = classify(c);
        if (fnd === null) continue;
        inc(f.findingCounts, fnd.verdict);
        if (fnd.verdict !== 'allowed') all.push(fnd);
      }
      all.sort((x, y) => order.indexOf(x.verdict) - order.indexOf(y.verdict));
      f.findings = all.slice(0, maxFindings);
      f.expectations = this.expect.map((e, i) => expectation(e, this.expectHits[i]!));
    }
    return { http: this.http, tls: this.tls, flow: this.flow };
  }
}

function classify(c: Conversation): FlowFinding | null {
  const aToB = (c.flags & (FLAG_ACCEPT_AB | FLAG_REJECT_AB)) !== 0;
  const bToA = (c.flags & (FLAG_ACCEPT_BA | FLAG_REJECT_BA)) !== 0;
  // The client is the side with the higher (ephemeral) port; with equal ports (ICMP), the sender
  // of the first record seen.
  const pa = portOf(c.a);
  const pb = portOf(c.b);
  const aIsServer = pa === pb ? !c.firstAB : pa < pb;
  const client = aIsServer ? c.b : c.a;
  const server = aIsServer ? c.a : c.b;
  const cs = aIsServer ? { acc: FLAG_ACCEPT_BA, rej: FLAG_REJECT_BA } : { acc: FLAG_ACCEPT_AB, rej: FLAG_REJECT_AB };
  const sc = aIsServer ? { acc: FLAG_ACCEPT_AB, rej: FLAG_REJECT_AB } : { acc: FLAG_ACCEPT_BA, rej: FLAG_REJECT_BA };
  const protocol = PROTO[c.proto] ?? String(c.proto);
  const base = { interfaceId: c.eni, protocol, client, server };
  if (c.flags & FLAG_BPA) {
    return { verdict: 'block-public-access', ...base, detail: 'rejected by VPC Block Public Access (reject-reason BPA), not by a security group or network ACL' };
  }
  const f = c.flags;
  if ((f & cs.acc && f & sc.rej) || (f & sc.acc && f & cs.rej)) {
    const accDir = f & cs.acc ? `${client} → ${server}` : `${server} → ${client}`;
    const rejDir = f & cs.acc ? `${server} → ${client}` : `${client} → ${server}`;
    return {
      verdict: 'network-acl',
      ...base,
      detail: `${accDir} ACCEPT but ${rejDir} REJECT: a network ACL (stateless) rejects the return traffic; security groups are stateful and never reject the reply to allowed traffic. Allow the ephemeral ports (1024-65535) in the network ACL for the return direction`,
    };
  }
  if ((f & (FLAG_REJECT_AB | FLAG_REJECT_BA)) !== 0 && (f & (FLAG_ACCEPT_AB | FLAG_ACCEPT_BA)) === 0) {
    return {
      verdict: 'security-group-or-network-acl',
      ...base,
      detail: `${aToB && bToA ? 'rejected both ways' : `${f & cs.rej ? `${client} → ${server}` : `${server} → ${client}`} REJECT with no accepted traffic`}: an inbound security-group rule or the subnet's network ACL denies it (REJECT can also mean packets arrived after the connection was closed)`,
    };
  }
  if (aToB !== bToA && (f & (FLAG_ACCEPT_AB | FLAG_ACCEPT_BA)) !== 0) {
    return {
      verdict: 'no-reply-recorded',
      ...base,
      detail: `${f & cs.acc ? `${client} → ${server}` : `${server} → ${client}`} ACCEPT, no record of the opposite direction on this interface: the peer did not answer, or the reply left through another path (asymmetric routing) or was not logged`,
    };
  }
  return { verdict: 'allowed', ...base, detail: 'accepted both ways' };
}

function expectation(e: ExpectedFlow, h: { records: number; accept: number; reject: number; reverseAccept: number; reverseReject: number }): ExpectResult {
  const name = `${e.src} → ${e.dst}${e.dstPort !== undefined ? `:${e.dstPort}` : ''}`;
  if (h.records === 0) {
    return {
      expect: name,
      verdict: 'absent',
      records: 0,
      detail: 'no flow-log record: the packets never reached a logged interface. Check routing first (route tables of the source subnet, internet/NAT/transit gateway, peering routes, DNS resolving to the address you expect); then that the flow log covers this interface and time window',
    };
  }
  if (h.reject > 0 && h.accept === 0) {
    return { expect: name, verdict: 'rejected', records: h.records, detail: `${h.reject} REJECT record(s): a security group or network ACL denies it` };
  }
  if (h.reverseAccept === 0 && h.reverseReject > 0) {
    return {
      expect: name,
      verdict: 'accepted-one-way',
      records: h.records,
      detail: `${h.accept} ACCEPT record(s), but the replies are REJECTed: a network ACL (stateless) blocks the return traffic; security groups are stateful and would let the reply out`,
    };
  }
  if (h.reverseAccept === 0) {
    return { expect: name, verdict: 'accepted-one-way', records: h.records, detail: `${h.accept} ACCEPT record(s) and no accepted reply: the reply is rejected (network ACL), missing, or takes another path` };
  }
  return { expect: name, verdict: 'accepted', records: h.records, detail: `${h.accept} ACCEPT record(s) and accepted replies: the network allowed it both ways; look at the packets` };
}
