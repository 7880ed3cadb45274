/**
 * What ALB and Classic LB access-log lines share: after the ALB's leading `type`, both go
 *
 *   time elb client:port target:port request_processing_time target_processing_time
 *   response_processing_time elb_status_code target_status_code received_bytes sent_bytes "request"
 *
 * (the Classic LB says `timestamp` and `backend` for `time` and `target`), and the same
 * conventions: `-` is absent, a processing time of `-1` means the load balancer could not dispatch
 * the request or the target closed the connection or did not answer before the idle timeout.
 *
 * Sources: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html
 */
import { opt, parseAddrPort, parseDecimal, parseIsoSeconds, parseUint, type AddrPort } from './fields.js';
import { lineError, type LineError } from './types.js';

/** The request line `"METHOD scheme://host:port/uri HTTP/x.y"` split (all null for `"- - - "`). */
export interface HttpRequestLine {
  method: string | null;
  url: string | null;
  protocol: string | null;
  /** The field exactly as logged (without the surrounding quotes). */
  raw: string;
}


/** `-1` or `-` → null; a number otherwise; NaN when malformed. */
export function processingSeconds(s: string): number | null {
  if (s === '-' || s === '-1') return null;
  return parseDecimal(s);
}

/** `-` → null; a status code otherwise; NaN when malformed. */
export function statusCode(s: string): number | null {
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

/** The record fields ALB and Classic LB entries share, with the same meaning. */
export interface ElbLogFields {
  timeString: string;
  clientAddr: string;
  clientPort: number;
  /** null for AWS `-1` (could not dispatch / target closed / timed out) or `-`. */
  requestProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  elbStatusCode: number | null;
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
  /** Fields after the last known one (AWS appends new fields), as logged. */
  extra: string[];
  /** How many fields the line had (older logs stop earlier; absent fields are null). */
  fieldCount: number;
  file: string;
  line: number;
}

/** Where the shared fields start in a line, and the names error messages give them. */
export interface ElbLayout {
  /** Index of the time field among the line's fields (1 for ALB, after `type`; 0 for Classic). */
  first: number;
  /** `time` (ALB) or `timestamp` (Classic). */
  timeName: string;
  /** `target` (ALB) or `backend` (Classic). */
  backendName: string;
  /** What elb_status_code, the target's status code, received_bytes and sent_bytes must be. */
  expect: readonly [string, string, string, string];
}

/**
 * Builds a format's record once the shared fields are valid (its own fields may still be bad). The
 * values come as arguments, not in an object: nothing is allocated to pass them, and the record
 * literal is built from them in the format's own field order.
 */
export type ElbFinish<R> = (
  t: readonly string[],
  n: number,
  time: number,
  timeString: string,
  clientAddr: string,
  clientPort: number,
  backendAddr: string | null,
  backendPort: number | null,
  requestProcessingSeconds: number | null,
  backendProcessingSeconds: number | null,
  responseProcessingSeconds: number | null,
  elbStatusCode: number | null,
  backendStatusCode: number | null,
  receivedBytes: number | null,
  sentBytes: number | null,
  request: HttpRequestLine,
) => R | LineError;

const ap: AddrPort = { addr: '', port: 0 };

/**
 * Parses the shared fields of a tokenized line (`t[0..n)`, the caller has checked that they are all
 * there) and hands them to `finish`; the first malformed field, in line order, is the error.
 */
export function parseElbLine<R>(t: readonly string[], n: number, layout: ElbLayout, finish: ElbFinish<R>): R | LineError {
  const a = layout.first;
  const timeString = t[a]!;
  const time = parseIsoSeconds(timeString);
  if (time !== time) return lineError(`field ${a + 1} (${layout.timeName}) is not an ISO 8601 timestamp: '${timeString}'`);
  if (!parseAddrPort(t[a + 2]!, ap)) return lineError(`field ${a + 3} (client:port) is not address:port: '${t[a + 2]}'`);
  const clientAddr = ap.addr;
  const clientPort = ap.port;
  let backendAddr: string | null = null;
  let backendPort: number | null = null;
  if (t[a + 3] !== '-') {
    if (!parseAddrPort(t[a + 3]!, ap)) return lineError(`field ${a + 4} (${layout.backendName}:port) is not address:port or '-': '${t[a + 3]}'`);
    backendAddr = ap.addr;
    backendPort = ap.port;
  }
  const rpt = processingSeconds(t[a + 4]!);
  if (rpt !== null && rpt !== rpt) return lineError(`field ${a + 5} (request_processing_time) is not a number: '${t[a + 4]}'`);
  const bpt = processingSeconds(t[a + 5]!);
  if (bpt !== null && bpt !== bpt) return lineError(`field ${a + 6} (${layout.backendName}_processing_time) is not a number: '${t[a + 5]}'`);
  const rspt = processingSeconds(t[a + 6]!);
  if (rspt !== null && rspt !== rspt) return lineError(`field ${a + 7} (response_processing_time) is not a number: '${t[a + 6]}'`);
  const elbStatus = statusCode(t[a + 7]!);
  if (elbStatus !== null && elbStatus !== elbStatus) return lineError(`field ${a + 8} (elb_status_code) is not ${layout.expect[0]}: '${t[a + 7]}'`);
  const backendStatus = statusCode(t[a + 8]!);
  if (backendStatus !== null && backendStatus !== backendStatus) return lineError(`field ${a + 9} (${layout.backendName}_status_code) is not ${layout.expect[1]}: '${t[a + 8]}'`);
  const received = t[a + 9] === '-' ? null : parseUint(t[a + 9]!);
  if (received !== null && received !== received) return lineError(`field ${a + 10} (received_bytes) is not ${layout.expect[2]}: '${t[a + 9]}'`);
  const sent = t[a + 10] === '-' ? null : parseUint(t[a + 10]!);
  if (sent !== null && sent !== sent) return lineError(`field ${a + 11} (sent_bytes) is not ${layout.expect[3]}: '${t[a + 10]}'`);
  return finish(t, n, time, timeString, clientAddr, clientPort, backendAddr, backendPort, rpt, bpt, rspt, elbStatus, backendStatus, received, sent, parseRequestLine(t[a + 11]!));
}
