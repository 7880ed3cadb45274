/**
 * ALB (Application Load Balancer) access log entries.
 *
 * One entry per request, space-delimited, fields in this order (AWS "Access log entries"; new
 * fields are only ever appended, and "you should ignore any fields at the end of the log entry
 * that you were not expecting"):
 *
 *  1 type                      12 sent_bytes               23 "actions_executed"
 *  2 time                      13 "request"                24 "redirect_url"
 *  3 elb                       14 "user_agent"             25 "error_reason"
 *  4 client:port               15 ssl_cipher               26 "target:port_list"   (older: unquoted)
 *  5 target:port               16 ssl_protocol             27 "target_status_code_list" (older: unquoted)
 *  6 request_processing_time   17 target_group_arn         28 "classification"
 *  7 target_processing_time    18 "trace_id"               29 "classification_reason"
 *  8 response_processing_time  19 "domain_name"            30 conn_trace_id
 *  9 elb_status_code           20 "chosen_cert_arn"        31 "transformed_host"
 * 10 target_status_code        21 matched_rule_priority    32 "transformed_uri"
 * 11 received_bytes            22 request_creation_time    33 "request_transform_status"
 *
 * Absent values: `-` becomes null everywhere; the processing times' `-1` ("the load balancer
 * can't dispatch the request to a target" / "the target closes the connection before the idle
 * timeout" / "does not respond before the idle timeout") becomes null too, so it can never be
 * mistaken for a measured duration. matched_rule_priority keeps its documented `-1` (error during
 * rules evaluation) and `0` (default action).
 *
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
 */
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt, parseAddrPort, parseDecimal, parseInt10, parseIsoSeconds, parseUint, type AddrPort } from './fields.js';
import { lineError, type LineError } from './types.js';

/** The `type` values AWS documents; others are kept as they are (AWS: "ignore any other values"). */
export const ALB_TYPES = ['http', 'https', 'h2', 'grpcs', 'ws', 'wss'] as const;

/** The request line `"METHOD scheme://host:port/uri HTTP/x.y"` split (all null for `"- - - "`). */
export interface HttpRequestLine {
  method: string | null;
  url: string | null;
  protocol: string | null;
  /** The field exactly as logged (without the surrounding quotes). */
  raw: string;
}

export interface AlbLogRecord {
  kind: 'alb';
  /** `http` | `https` | `h2` | `grpcs` | `ws` | `wss` (others passed through). */
  type: string;
  /** When the load balancer generated the response (WebSockets: closed the connection), seconds since the epoch. */
  time: number;
  timeString: string;
  /** Load balancer resource id, `app/name/id`. */
  elb: string;
  clientAddr: string;
  clientPort: number;
  /** null when `-`: no full request, Lambda target, or blocked by WAF. */
  targetAddr: string | null;
  targetPort: number | null;
  /** null for AWS `-1` (could not dispatch / target closed / timed out) or `-`. */
  requestProcessingSeconds: number | null;
  targetProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  elbStatusCode: number | null;
  /** null when `-`: no connection to the target, or the target sent no response. */
  targetStatusCode: number | null;
  receivedBytes: number | null;
  sentBytes: number | null;
  request: HttpRequestLine;
  /** From the request URL: host (no port), port, path (no query) and query (no `?`). */
  host: string | null;
  port: number | null;
  path: string | null;
  query: string | null;
  userAgent: string | null;
  sslCipher: string | null;
  sslProtocol: string | null;
  targetGroupArn: string | null;
  /** X-Amzn-Trace-Id as logged (`Root=1-...`): the join key to decrypted ALB→target requests. */
  traceId: string | null;
  /** SNI from the client's ClientHello. */
  domainName: string | null;
  /** Certificate presented, or `session-reused`. */
  chosenCertArn: string | null;
  /** 1..50000 rule, 0 default action, -1 error during rules evaluation, null `-`. */
  matchedRulePriority: number | null;
  requestCreationTime: number | null;
  requestCreationTimeString: string | null;
  /** `waf`, `authenticate`, `redirect`, `fixed-response`, `forward`, ...; [] for `-`. */
  actionsExecuted: string[];
  redirectUrl: string | null;
  errorReason: string | null;
  /** Targets tried (`ip:port`), [] for `-`. */
  targetPortList: string[];
  /** Status codes from those targets; an entry is null where the target sent none. */
  targetStatusCodeList: (number | null)[];
  /** Desync mitigation: `Acceptable` | `Ambiguous` | `Severe`; null when compliant. */
  classification: string | null;
  classificationReason: string | null;
  /** Connection traceability id (`TID_...`): joins with the ALB connection log. */
  connTraceId: string | null;
  transformedHost: string | null;
  transformedUri: string | null;
  requestTransformStatus: string | null;
  /** Fields after the last known one (AWS appends new fields), as logged. */
  extra: string[];
  /** How many fields the line had (older logs stop earlier; absent fields are null). */
  fieldCount: number;
  file: string;
  line: number;
}

/** Fields a line must have: through the request line (13). Older logs stop after trace_id (18). */
export const ALB_MIN_FIELDS = 13;
export const ALB_KNOWN_FIELDS = 33;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };
const ap: AddrPort = { addr: '', port: 0 };

/** `-1` or `-` → null; a number otherwise; NaN when malformed. */
export function processingSeconds(s: string): number | null {
  if (s === '-' || s === '-1') return null;
  return parseDecimal(s);
}

function statusCode(s: string): number | null {
  if (s === '-') return null;
  return parseUint(s);
}

/** Splits a logged request line. Method = up to the first space, protocol = after the last one. */
export function parseRequestLine(raw: string): HttpRequestLine {
  // `"- - - "`: nothing parseable was received (also the CLB TCP-listener form).
  let end = raw.length;
  while (end > 0 && raw.charCodeAt(end - 1) === 0x20) end--;
  if (end === 0 || (end === 5 && raw.startsWith('- - -'))) return { method: null, url: null, protocol: null, raw };
  const a = raw.indexOf(' ');
  if (a < 0 || a >= end) return { method: opt(raw.substring(0, end)), url: null, protocol: null, raw };
  const b = raw.lastIndexOf(' ', end - 1);
  const method = raw.substring(0, a);
  const url = b > a ? raw.substring(a + 1, b) : raw.substring(a + 1, end);
  const protocol = b > a ? raw.substring(b + 1, end) : '';
  return { method: opt(method || '-'), url: opt(url || '-'), protocol: opt(protocol || '-'), raw };
}

/** Host, port, path and query of a logged URL (`scheme://host:port/path?q`, or a bare `/path`). */
export function splitUrl(url: string | null, out: { host: string | null; port: number | null; path: string | null; query: string | null }): void {
  out.host = null;
  out.port = null;
  out.path = null;
  out.query = null;
  if (url === null) return;
  let rest = 0;
  const scheme = url.indexOf('://');
  if (scheme > 0 && scheme < 10) {
    const hostStart = scheme + 3;
    let hostEnd = url.indexOf('/', hostStart);
    const q = url.indexOf('?', hostStart);
    if (hostEnd < 0 || (q >= 0 && q < hostEnd)) hostEnd = q >= 0 ? q : url.length;
    const hostPort = url.substring(hostStart, hostEnd);
    let colon = hostPort.lastIndexOf(':');
    if (colon >= 0 && hostPort.charCodeAt(0) === 0x5b && hostPort.lastIndexOf(']') > colon) colon = -1;
    if (colon >= 0) {
      const p = parseUint(hostPort.substring(colon + 1));
      out.host = hostPort.substring(0, colon);
      out.port = p <= 65535 ? p : null;
    } else {
      out.host = hostPort;
    }
    if (out.host.charCodeAt(0) === 0x5b && out.host.endsWith(']')) out.host = out.host.substring(1, out.host.length - 1);
    rest = hostEnd;
  }
  const q = url.indexOf('?', rest);
  if (q >= 0) {
    out.path = url.substring(rest, q) || '/';
    out.query = url.substring(q + 1);
  } else {
    out.path = url.substring(rest) || '/';
  }
}

function list(s: string | undefined): string[] {
  if (s === undefined || s === '-' || s === '') return [];
  return s.indexOf(' ') >= 0 ? s.split(' ').filter((x) => x.length > 0) : [s];
}

/** Parses one ALB access-log line (without its line terminator). */
export function parseAlbLine(line: string): AlbLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  if (n < ALB_MIN_FIELDS) return lineError(`ALB access log entry has ${n} fields, expected at least ${ALB_MIN_FIELDS} (type through "request")`);
  const t = tokens;
  const type = t[0]!;
  const timeString = t[1]!;
  const time = parseIsoSeconds(timeString);
  if (time !== time) return lineError(`field 2 (time) is not an ISO 8601 timestamp: '${timeString}'`);
  if (!parseAddrPort(t[3]!, ap)) return lineError(`field 4 (client:port) is not address:port: '${t[3]}'`);
  const clientAddr = ap.addr;
  const clientPort = ap.port;
  let targetAddr: string | null = null;
  let targetPort: number | null = null;
  if (t[4] !== '-') {
    if (!parseAddrPort(t[4]!, ap)) return lineError(`field 5 (target:port) is not address:port or '-': '${t[4]}'`);
    targetAddr = ap.addr;
    targetPort = ap.port;
  }
  const rpt = processingSeconds(t[5]!);
  if (rpt !== null && rpt !== rpt) return lineError(`field 6 (request_processing_time) is not a number: '${t[5]}'`);
  const tpt = processingSeconds(t[6]!);
  if (tpt !== null && tpt !== tpt) return lineError(`field 7 (target_processing_time) is not a number: '${t[6]}'`);
  const rspt = processingSeconds(t[7]!);
  if (rspt !== null && rspt !== rspt) return lineError(`field 8 (response_processing_time) is not a number: '${t[7]}'`);
  const elbStatusCode = statusCode(t[8]!);
  if (elbStatusCode !== null && elbStatusCode !== elbStatusCode) return lineError(`field 9 (elb_status_code) is not a status code: '${t[8]}'`);
  const targetStatusCode = statusCode(t[9]!);
  if (targetStatusCode !== null && targetStatusCode !== targetStatusCode) return lineError(`field 10 (target_status_code) is not a status code or '-': '${t[9]}'`);
  const receivedBytes = t[10] === '-' ? null : parseUint(t[10]!);
  if (receivedBytes !== null && receivedBytes !== receivedBytes) return lineError(`field 11 (received_bytes) is not a byte count: '${t[10]}'`);
  const sentBytes = t[11] === '-' ? null : parseUint(t[11]!);
  if (sentBytes !== null && sentBytes !== sentBytes) return lineError(`field 12 (sent_bytes) is not a byte count: '${t[11]}'`);
  const request = parseRequestLine(t[12]!);
  let matchedRulePriority: number | null = null;
  if (n > 20 && t[20] !== '-') {
    matchedRulePriority = parseInt10(t[20]!);
    if (matchedRulePriority !== matchedRulePriority) return lineError(`field 21 (matched_rule_priority) is not a number: '${t[20]}'`);
  }
  let requestCreationTime: number | null = null;
  const rctString = n > 21 ? opt(t[21]) : null;
  if (rctString !== null) {
    requestCreationTime = parseIsoSeconds(rctString);
    if (requestCreationTime !== requestCreationTime) return lineError(`field 22 (request_creation_time) is not an ISO 8601 timestamp: '${rctString}'`);
  }
  const statusList = list(n > 26 ? t[26] : undefined);
  const targetStatusCodeList: (number | null)[] = new Array<number | null>(statusList.length);
  for (let i = 0; i < statusList.length; i++) {
    const c = statusCode(statusList[i]!);
    if (c !== null && c !== c) return lineError(`field 27 (target_status_code_list) has a non-numeric entry: '${statusList[i]}'`);
    targetStatusCodeList[i] = c;
  }
  const rec: AlbLogRecord = {
    kind: 'alb',
    type,
    time,
    timeString,
    elb: t[2]!,
    clientAddr,
    clientPort,
    targetAddr,
    targetPort,
    requestProcessingSeconds: rpt,
    targetProcessingSeconds: tpt,
    responseProcessingSeconds: rspt,
    elbStatusCode,
    targetStatusCode,
    receivedBytes,
    sentBytes,
    request,
    host: null,
    port: null,
    path: null,
    query: null,
    userAgent: n > 13 ? opt(t[13]) : null,
    sslCipher: n > 14 ? opt(t[14]) : null,
    sslProtocol: n > 15 ? opt(t[15]) : null,
    targetGroupArn: n > 16 ? opt(t[16]) : null,
    traceId: n > 17 ? opt(t[17]) : null,
    domainName: n > 18 ? opt(t[18]) : null,
    chosenCertArn: n > 19 ? opt(t[19]) : null,
    matchedRulePriority,
    requestCreationTime,
    requestCreationTimeString: rctString,
    actionsExecuted: n > 22 && t[22] !== '-' && t[22] !== '' ? t[22]!.split(',') : [],
    redirectUrl: n > 23 ? opt(t[23]) : null,
    errorReason: n > 24 ? opt(t[24]) : null,
    targetPortList: list(n > 25 ? t[25] : undefined),
    targetStatusCodeList,
    classification: n > 27 ? opt(t[27]) : null,
    classificationReason: n > 28 ? opt(t[28]) : null,
    connTraceId: n > 29 ? opt(t[29]) : null,
    transformedHost: n > 30 ? opt(t[30]) : null,
    transformedUri: n > 31 ? opt(t[31]) : null,
    requestTransformStatus: n > 32 ? opt(t[32]) : null,
    extra: n > ALB_KNOWN_FIELDS ? t.slice(ALB_KNOWN_FIELDS, n) : [],
    fieldCount: n,
    file: '',
    line: 0,
  };
  splitUrl(request.url, rec);
  return rec;
}

/**
 * The `Root=1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` part of an X-Amzn-Trace-Id value (as logged in
 * `trace_id`, or as seen in a decrypted request header), or null. The Root is what the ALB adds
 * and keeps: the join key between an access-log line and the request on the ALB→target leg.
 */
export function traceRootOf(traceId: string | null): string | null {
  if (traceId === null) return null;
  for (const part of traceId.split(';')) {
    const p = part.trim();
    if (p.length > 5 && p.substring(0, 5).toLowerCase() === 'root=') return p.substring(5);
  }
  return null;
}
