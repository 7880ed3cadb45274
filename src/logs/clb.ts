/**
 * Classic Load Balancer access log entries.
 *
 *   timestamp elb client:port backend:port request_processing_time backend_processing_time
 *   response_processing_time elb_status_code backend_status_code received_bytes sent_bytes
 *   "request" "user_agent" ssl_cipher ssl_protocol
 *
 * Unlike ALB, `timestamp` is when the load balancer *received* the request. `backend:port` is `-`
 * and the processing times `-1` when the load balancer could not send the request to an instance,
 * or the instance closed the connection / did not answer before the idle timeout. Status codes are
 * `-` on TCP/SSL listeners, whose request field reads `"- - - "`.
 *
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html
 */
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt, parseAddrPort, parseIsoSeconds, parseUint, type AddrPort } from './fields.js';
import { parseRequestLine, processingSeconds, splitUrl, type HttpRequestLine } from './alb.js';
import { lineError, type LineError } from './types.js';

export interface ClbLogRecord {
  kind: 'clb';
  /** When the load balancer received the request, seconds since the epoch. */
  time: number;
  timeString: string;
  /** Load balancer name. */
  elb: string;
  clientAddr: string;
  clientPort: number;
  backendAddr: string | null;
  backendPort: number | null;
  requestProcessingSeconds: number | null;
  backendProcessingSeconds: number | null;
  responseProcessingSeconds: number | null;
  elbStatusCode: number | null;
  backendStatusCode: number | null;
  receivedBytes: number | null;
  sentBytes: number | null;
  request: HttpRequestLine;
  host: string | null;
  port: number | null;
  path: string | null;
  query: string | null;
  userAgent: string | null;
  sslCipher: string | null;
  sslProtocol: string | null;
  extra: string[];
  fieldCount: number;
  file: string;
  line: number;
}

export const CLB_MIN_FIELDS = 12;
export const CLB_KNOWN_FIELDS = 15;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };
const ap: AddrPort = { addr: '', port: 0 };

export function parseClbLine(line: string): ClbLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  if (n < CLB_MIN_FIELDS) return lineError(`Classic LB access log entry has ${n} fields, expected at least ${CLB_MIN_FIELDS} (timestamp through "request")`);
  const t = tokens;
  const timeString = t[0]!;
  const time = parseIsoSeconds(timeString);
  if (time !== time) return lineError(`field 1 (timestamp) is not an ISO 8601 timestamp: '${timeString}'`);
  if (!parseAddrPort(t[2]!, ap)) return lineError(`field 3 (client:port) is not address:port: '${t[2]}'`);
  const clientAddr = ap.addr;
  const clientPort = ap.port;
  let backendAddr: string | null = null;
  let backendPort: number | null = null;
  if (t[3] !== '-') {
    if (!parseAddrPort(t[3]!, ap)) return lineError(`field 4 (backend:port) is not address:port or '-': '${t[3]}'`);
    backendAddr = ap.addr;
    backendPort = ap.port;
  }
  const times = [processingSeconds(t[4]!), processingSeconds(t[5]!), processingSeconds(t[6]!)];
  const timeNames = ['request_processing_time', 'backend_processing_time', 'response_processing_time'];
  for (let i = 0; i < 3; i++) {
    const v = times[i]!;
    if (v !== null && v !== v) return lineError(`field ${5 + i} (${timeNames[i]}) is not a number: '${t[4 + i]}'`);
  }
  const ints = [t[7] === '-' ? null : parseUint(t[7]!), t[8] === '-' ? null : parseUint(t[8]!), t[9] === '-' ? null : parseUint(t[9]!), t[10] === '-' ? null : parseUint(t[10]!)];
  const intNames = ['elb_status_code', 'backend_status_code', 'received_bytes', 'sent_bytes'];
  for (let i = 0; i < 4; i++) {
    const v = ints[i]!;
    if (v !== null && v !== v) return lineError(`field ${8 + i} (${intNames[i]}) is not a number or '-': '${t[7 + i]}'`);
  }
  const request = parseRequestLine(t[11]!);
  const rec: ClbLogRecord = {
    kind: 'clb',
    time,
    timeString,
    elb: t[1]!,
    clientAddr,
    clientPort,
    backendAddr,
    backendPort,
    requestProcessingSeconds: times[0]!,
    backendProcessingSeconds: times[1]!,
    responseProcessingSeconds: times[2]!,
    elbStatusCode: ints[0]!,
    backendStatusCode: ints[1]!,
    receivedBytes: ints[2]!,
    sentBytes: ints[3]!,
    request,
    host: null,
    port: null,
    path: null,
    query: null,
    userAgent: n > 12 ? opt(t[12]) : null,
    sslCipher: n > 13 ? opt(t[13]) : null,
    sslProtocol: n > 14 ? opt(t[14]) : null,
    extra: n > CLB_KNOWN_FIELDS ? t.slice(CLB_KNOWN_FIELDS, n) : [],
    fieldCount: n,
    file: '',
    line: 0,
  };
  splitUrl(request.url, rec);
  return rec;
}
