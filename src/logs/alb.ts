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
import { parseElbLine, statusCode, splitUrl, type ElbFinish, type ElbLayout, type ElbLogFields } from './elb.js';
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt, parseInt10, parseIsoSeconds } from './fields.js';
import { lineError, type LineError } from './types.js';

/** The `type` values AWS documents; others are kept as they are (AWS: "ignore any other values"). */
export const ALB_TYPES = ['http', 'https', 'h2', 'grpcs', 'ws', 'wss'] as const;

export interface AlbLogRecord extends ElbLogFields {
  kind: 'alb';
  /** `http` | `https` | `h2` | `grpcs` | `ws` | `wss` (others passed through). */
  type: string;
  /** When the load balancer generated the response (WebSockets: closed the connection), seconds since the epoch. */
  time: number;
  /** Load balancer resource id, `app/name/id`. */
  elb: string;
  /** null when `-`: no full request, Lambda target, or blocked by WAF. */
  targetAddr: string | null;
  targetPort: number | null;
  /** null for AWS `-1` (could not dispatch / target closed / timed out) or `-`. */
  targetProcessingSeconds: number | null;
  /** null when `-`: no connection to the target, or the target sent no response. */
  targetStatusCode: number | null;
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
}

/** Fields a line must have: through the request line (13). Older logs stop after trace_id (18). */
export const ALB_MIN_FIELDS = 13;
export const ALB_KNOWN_FIELDS = 33;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };
const LAYOUT: ElbLayout = { first: 1, timeName: 'time', backendName: 'target', expect: ['a status code', "a status code or '-'", 'a byte count', 'a byte count'] };

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
  return parseElbLine(tokens, n, LAYOUT, finishAlb);
}

const finishAlb: ElbFinish<AlbLogRecord> = (t, n, time, timeString, clientAddr, clientPort, targetAddr, targetPort, requestProcessingSeconds, targetProcessingSeconds, responseProcessingSeconds, elbStatusCode, targetStatusCode, receivedBytes, sentBytes, request) => {
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
    type: t[0]!,
    time,
    timeString,
    elb: t[2]!,
    clientAddr,
    clientPort,
    targetAddr,
    targetPort,
    requestProcessingSeconds,
    targetProcessingSeconds,
    responseProcessingSeconds,
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
  splitUrl(rec.request.url, rec);
  return rec;
};

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
