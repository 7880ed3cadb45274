/**
 * Logs-only analysis: what the load balancer's logs (and VPC flow logs) prove when no capture was
 * given, the usual first step before any mirroring. Error lines are matched against the verdict
 * catalogue and grouped into incidents — one per set of causes the lines fit, load balancer, target
 * and burst of time ("1 214 × 502 with target_status - and -1 processing times on target
 * 10.0.2.30:8080 between 14:02 and 14:09") — each saying what the log proves, what it cannot tell
 * apart, and what to capture next to settle it. Memory is bounded by the number of incidents.
 */
import type { AlbLogRecord } from '../logs/alb.js';
import type { ClbLogRecord } from '../logs/clb.js';
import type { FlowLogRecord } from '../logs/flow.js';
import type { NlbLogRecord } from '../logs/nlb.js';
import { albLineFacts, clbLineFacts, explainErrorReason, nlbLineFacts } from '../logs/explain.js';
import { candidateCauses, causeById, GROUPS, groupName, matchCauses, type Cause, type LogLineFacts } from '../logs/causes/index.js';
import { ownString } from '../logs/lines.js';
import { albLogView, clbLogView } from '../correlate/from-logs.js';
import { capturePlan, type CapturePlan } from './capture-plan.js';
import { isoMs } from '../capture/time-text.js';

/** Lines of one cause set and target further apart than this are separate incidents. */
export const INCIDENT_GAP_SECONDS = 600;
const MAX_INCIDENTS = 10_000;
const MAX_DISTINCT = 50;

export interface LogSample {
  time: number;
  file: string;
  line: number;
  raw: string;
}

interface Range {
  min: number;
  max: number;
  unset: number;
}

export interface LogIncident {
  service: 'alb' | 'clb' | 'nlb';
  status: number | null;
  targetStatus: number | null;
  pattern: string;
  elb: string;
  targetGroupArn: string | null;
  targetAddr: string | null;
  targetPort: number | null;
  listenerPort: number | null;
  count: number;
  first: number;
  last: number;
  /** The documented causes the lines fit, most likely first. */
  causes: Cause[];
  /** The cause, when the lines (and flow logs) leave one. */
  decided: Cause | null;
  /** Why it was decided (flow-log rows, error_reason), when it was. */
  decidedBy: string | null;
  /** [request, target, response] processing-time ranges (seconds; `unset` counts the -1s). */
  times: [Range, Range, Range];
  /** time − request_creation_time. */
  waited: Range;
  errorReasons: Map<string, number>;
  paths: Map<string, number>;
  clients: Set<string>;
  /** First lines, and the last. */
  samples: LogSample[];
  flowRows: LogSample[];
  firstRequest: { method: string | null; path: string | null; client: string | null };
}

const range = (): Range => ({ min: Infinity, max: -Infinity, unset: 0 });

function addRange(r: Range, v: number | null): void {
  if (v === null) {
    r.unset++;
    return;
  }
  if (v < r.min) r.min = v;
  if (v > r.max) r.max = v;
}

function bump(m: Map<string, number>, k: string | null): void {
  if (k === null) return;
  const n = m.get(k);
  if (n !== undefined) m.set(k, n + 1);
  else if (m.size < MAX_DISTINCT) m.set(ownString(k), 1);
}

interface LineInfo {
  service: 'alb' | 'clb' | 'nlb';
  facts: LogLineFacts;
  time: number;
  elb: string;
  targetGroupArn: string | null;
  targetAddr: string | null;
  targetPort: number | null;
  listenerPort: number | null;
  client: string;
  method: string | null;
  path: string | null;
  errorReason: string | null;
  requestCreationTime: number | null;
  file: string;
  line: number;
  /** The line in words, for evidence (built only for the samples kept). */
  raw: () => string;
}

/** A line worth an incident: the load balancer's own 4xx/5xx/000, and a target's 5xx passed on. */
function isError(f: LogLineFacts): boolean {
  if (f.log === 'nlb') return f.tlsAlert !== null || f.tlsCompleted === false;
  const s = f.elbStatus;
  // A Classic LB TCP/SSL listener logs no status: its line is an error when the connection never reached an instance (times -1).
  if (s === null) return f.log === 'clb' && f.times.every((t) => t === null);
  if (s === 0) return true;
  if (s < 400) return false;
  return f.targetStatus === null || f.targetStatus !== s || s >= 500;
}

export class LogIncidents {
  private readonly byKey = new Map<string, LogIncident[]>();
  private total = 0;
  /** Error lines that found no room (over MAX_INCIDENTS incidents). */
  dropped = 0;
  private readonly targets = new Set<string>();

  addAlb(r: AlbLogRecord): void {
    this.addLine({
      service: 'alb', facts: albLineFacts(r), time: r.time, elb: r.elb, targetGroupArn: r.targetGroupArn, targetAddr: r.targetAddr, targetPort: r.targetPort,
      listenerPort: r.port, client: `${r.clientAddr}:${r.clientPort}`, method: r.request.method, path: r.path, errorReason: r.errorReason,
      requestCreationTime: r.requestCreationTime, file: r.file, line: r.line, raw: () => albLogView(r).raw,
    });
  }

  addClb(r: ClbLogRecord): void {
    this.addLine({
      service: 'clb', facts: clbLineFacts(r), time: r.time, elb: r.elb, targetGroupArn: null, targetAddr: r.backendAddr, targetPort: r.backendPort,
      listenerPort: r.port, client: `${r.clientAddr}:${r.clientPort}`, method: r.request.method, path: r.path, errorReason: null,
      requestCreationTime: null, file: r.file, line: r.line, raw: () => clbLogView(r).raw,
    });
  }

  addNlb(r: NlbLogRecord): void {
    this.addLine({
      service: 'nlb', facts: nlbLineFacts(r), time: r.time, elb: r.elb, targetGroupArn: null, targetAddr: null, targetPort: null,
      listenerPort: r.destinationPort, client: `${r.clientAddr}:${r.clientPort}`, method: null, path: null, errorReason: r.incomingTlsAlertName,
      requestCreationTime: null, file: r.file, line: r.line,
      raw: () => `tls ${r.timeString} client ${r.clientAddr}:${r.clientPort} listener ${r.destinationAddr}:${r.destinationPort} incoming_tls_alert ${r.incomingTlsAlert ?? '-'}${r.incomingTlsAlertName ? ` (${r.incomingTlsAlertName})` : ''} tls_cipher ${r.tlsCipher ?? '-'} sni ${r.domainName ?? '-'}`,
    });
  }

  private addLine(x: LineInfo): void {
    if (!isError(x.facts)) return;
    const causes = candidateCauses(matchCauses(x.facts)).map((m) => m.cause);
    if (causes.length === 0) return;
    const pattern = groupName(causes[0]!, x.facts.elbStatus);
    const target = x.targetAddr !== null ? `${x.targetAddr}:${x.targetPort ?? ''}` : '-';
    const key = `${x.service}|${x.elb}|${pattern}|${causes.map((c) => c.id).join(',')}|${x.facts.elbStatus}|${target}|${x.targetGroupArn ?? '-'}`;
    let list = this.byKey.get(key);
    let inc = list?.find((i) => x.time >= i.first - INCIDENT_GAP_SECONDS && x.time <= i.last + INCIDENT_GAP_SECONDS);
    if (!inc) {
      if (this.total >= MAX_INCIDENTS) {
        this.dropped++;
        return;
      }
      inc = {
        service: x.service, status: x.facts.elbStatus, targetStatus: x.facts.targetStatus, pattern: ownString(pattern), elb: ownString(x.elb),
        targetGroupArn: x.targetGroupArn !== null ? ownString(x.targetGroupArn) : null, targetAddr: x.targetAddr !== null ? ownString(x.targetAddr) : null,
        targetPort: x.targetPort, listenerPort: x.listenerPort, count: 0, first: x.time, last: x.time, causes, decided: null, decidedBy: null,
        times: [range(), range(), range()], waited: range(), errorReasons: new Map(), paths: new Map(), clients: new Set(), samples: [], flowRows: [],
        firstRequest: { method: x.method !== null ? ownString(x.method) : null, path: x.path !== null ? ownString(x.path) : null, client: ownString(x.client) },
      };
      if (!list) this.byKey.set(ownString(key), (list = []));
      list.push(inc);
      this.total++;
      if (x.targetAddr !== null) this.targets.add(inc.targetAddr!);
    }
    inc.count++;
    if (x.time < inc.first) {
      inc.first = x.time;
      inc.firstRequest = { method: x.method !== null ? ownString(x.method) : null, path: x.path !== null ? ownString(x.path) : null, client: ownString(x.client) };
    }
    if (x.time > inc.last) inc.last = x.time;
    for (let i = 0; i < 3; i++) addRange(inc.times[i]!, x.facts.times[i]!);
    if (x.requestCreationTime !== null) addRange(inc.waited, x.time - x.requestCreationTime);
    bump(inc.errorReasons, x.errorReason);
    bump(inc.paths, x.path);
    if (inc.clients.size < 1000) inc.clients.add(x.client.substring(0, x.client.lastIndexOf(':')));
    if (inc.samples.length < 3) inc.samples.push({ time: x.time, file: ownString(x.file), line: x.line, raw: ownString(x.raw()) });
    else if (x.time >= inc.samples[inc.samples.length - 1]!.time) inc.samples[3] = { time: x.time, file: ownString(x.file), line: x.line, raw: ownString(x.raw()) };
  }

  /** A VPC flow-log row: REJECTs to or from a logged target can decide a connect timeout. */
  addFlow(r: FlowLogRecord): void {
    if (r.action !== 'REJECT' || r.protocol !== 6 || r.srcaddr === null || r.dstaddr === null) return;
    const fromTarget = this.targets.has(r.srcaddr);
    if (!fromTarget && !this.targets.has(r.dstaddr)) return;
    const t0 = r.start ?? 0;
    const t1 = r.end ?? t0;
    for (const list of this.byKey.values()) {
      for (const inc of list) {
        if (inc.status !== 504 || inc.targetAddr === null || inc.flowRows.length >= 5) continue;
        if (!inc.causes.some((c) => c.id === '504-connect-timeout')) continue;
        if (t1 < inc.first - 120 || t0 > inc.last + 60) continue;
        const back = r.srcaddr === inc.targetAddr && r.srcport === inc.targetPort;
        const toward = r.dstaddr === inc.targetAddr && r.dstport === inc.targetPort;
        if (!back && !toward) continue;
        inc.flowRows.push({ time: t0, file: ownString(r.file), line: r.line, raw: ownString(flowRaw(r)) });
        const id = back ? '504-nacl-return-path' : '504-connect-timeout';
        if (inc.decided === null || (back && inc.decided.id !== '504-nacl-return-path')) {
          inc.decided = causeById(id)!;
          inc.decidedBy = back
            ? `the VPC flow log of ${inc.targetAddr}'s interface REJECTs its replies from port ${inc.targetPort} (${r.srcaddr}:${r.srcport} → ${r.dstaddr}:${r.dstport}): the SYN-ACKs never leave the subnet — a stateless network ACL without the ephemeral-port return rule`
            : `the VPC flow log REJECTs the load balancer's traffic to ${inc.targetAddr}:${inc.targetPort} (${r.srcaddr}:${r.srcport} → ${r.dstaddr}:${r.dstport}): a security group or network ACL drops the SYNs`;
        }
      }
    }
  }

  /** The incidents, in time order, each with its cause decided where the lines leave one. */
  incidents(): LogIncident[] {
    const all = [...this.byKey.values()].flat();
    for (const inc of all) {
      if (inc.decided === null && inc.causes.length === 1) {
        inc.decided = inc.causes[0]!;
        const reasons = [...inc.errorReasons.keys()];
        inc.decidedBy = reasons.length ? `error_reason ${reasons.join(', ')}` : `the status ${statusText(inc.status)} and its fields fit this cause only`;
      }
    }
    return all.sort((a, b) => a.first - b.first);
  }
}

function flowRaw(r: FlowLogRecord): string {
  return `${r.interfaceId ?? '-'} ${r.srcaddr}:${r.srcport ?? '-'} → ${r.dstaddr}:${r.dstport ?? '-'} ${r.action}${r.tcpFlags !== null ? ` tcp-flags ${r.tcpFlags}` : ''}`;
}

function statusText(s: number | null): string {
  return s === null ? '-' : s === 0 ? '000' : String(s);
}

/** `1214` → `1 214` (thin grouping, as a support engineer writes counts). */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

function hhmm(t: number): string {
  return isoMs(t * 1000)?.substring(11, 16) ?? String(t);
}

function secs(v: number): string {
  return v >= 10 ? `${v.toFixed(1)} s` : `${v.toFixed(3)} s`;
}

function rangeText(r: Range): string | null {
  if (r.max === -Infinity) return null;
  const a = secs(r.min);
  const b = secs(r.max);
  return a === b ? a : `${a}-${b}`;
}

const TIME_NAMES = ['request', 'target', 'response'] as const;

/** "with target_status - and -1 processing times" and the like. */
function fieldsText(inc: LogIncident): string {
  if (inc.service === 'nlb') return inc.errorReasons.size ? `with the client's TLS alert ${[...inc.errorReasons.keys()].join(', ')}` : 'with the TLS handshake not completed';
  if (inc.status === null) return 'with -1 processing times';
  const ts = inc.targetStatus === null ? '-' : String(inc.targetStatus);
  const allUnset = inc.times.every((r) => r.unset === inc.count);
  if (allUnset) return `with target_status ${ts} and -1 processing times`;
  const parts = inc.times.map((r, i) => (r.unset === inc.count ? `${TIME_NAMES[i]} -1` : r.unset === 0 ? `${TIME_NAMES[i]} ${rangeText(r)}` : `${TIME_NAMES[i]} ${rangeText(r)} or -1`));
  return `with target_status ${ts} and processing times ${parts.join(', ')}`;
}

/** The headline: "1 214 × 502 with target_status - and -1 processing times on target 10.0.2.30:8080 between 14:02 and 14:09". */
export function incidentHeadline(inc: LogIncident): string {
  const on = inc.targetAddr !== null ? ` on target ${inc.targetAddr}${inc.targetPort !== null ? `:${inc.targetPort}` : ''}` : inc.service === 'nlb' ? ` on ${inc.elb}` : ', target:port -';
  const day = isoMs(inc.first * 1000)?.substring(0, 10) ?? '';
  const when = inc.count === 1 || hhmm(inc.first) === hhmm(inc.last) ? `at ${day} ${hhmm(inc.first)} UTC` : `between ${day} ${hhmm(inc.first)} and ${hhmm(inc.last)} UTC`;
  const what = inc.service === 'nlb' ? 'TLS connection failure' : inc.status === null ? 'TCP/SSL connection' : statusText(inc.status);
  return `${groupDigits(inc.count)} × ${what} ${fieldsText(inc)}${on} ${when}`;
}

/** What the lines prove, in sentences. */
export function incidentProves(inc: LogIncident): string[] {
  const word = inc.service === 'clb' ? 'instance' : 'target';
  const out: string[] = [];
  const g = GROUPS[inc.pattern];
  const top = inc.causes[0]!;
  if (g) out.push(g.proves.replaceAll('{t}', word));
  else if (top.id === 'target-error') out.push(`the ${word} answered ${statusText(inc.status)} itself; the load balancer passed it on`);
  else out.push(`${top.title} (${statusText(inc.status)})`);
  const w = inc.waited;
  if (w.max !== -Infinity && (inc.status === 504 || inc.status === 460)) {
    const text = rangeText(w)!;
    if (inc.status === 460) out.push(`the clients gave up ${text} after sending the request`);
    else if (inc.causes.some((c) => c.id === '504-connect-timeout')) out.push(`the load balancer waited ${text} before answering${w.max >= 9 && w.max <= 12 ? ' (its 10 s connect timeout)' : ''}`);
    else out.push(`the load balancer waited ${text} before answering: its idle timeout is about ${secs(w.max)}`);
  }
  if (inc.errorReasons.size && inc.service !== 'nlb') {
    for (const [code, n] of inc.errorReasons) out.push(`error_reason ${code} (${groupDigits(n)}×): ${explainErrorReason(code) ?? 'not a documented code'}`);
  }
  if (inc.decidedBy && inc.decided && inc.causes.length > 1) out.push(inc.decidedBy);
  return out;
}

export function incidentPlan(inc: LogIncident, name: string): CapturePlan | null {
  const open = inc.decided ? [inc.decided] : inc.causes;
  const advice = open.map((c) => c.capture).filter((a) => a !== null);
  if (advice.length === 0) return null;
  return capturePlan({
    targetAddr: inc.targetAddr,
    targetPort: inc.targetPort,
    elb: inc.elb,
    targetGroupArn: inc.targetGroupArn,
    listenerPort: inc.listenerPort,
    count: inc.count,
    spanSeconds: inc.last - inc.first,
    name,
    advice,
  });
}
