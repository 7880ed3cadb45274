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
import { parseElbLine, splitUrl, type ElbFinish, type ElbLayout, type ElbLogFields } from './elb.js';
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt } from './fields.js';
import { lineError, type LineError } from './types.js';

export interface ClbLogRecord extends ElbLogFields {
  kind: 'clb';
  /** When the load balancer received the request, seconds since the epoch. */
  time: number;
  /** Load balancer name. */
  elb: string;
  /** null when `-`: the request could not be sent to an instance. */
  backendAddr: string | null;
  backendPort: number | null;
  /** null for AWS `-1` (could not dispatch / instance closed / timed out) or `-`. */
  backendProcessingSeconds: number | null;
  backendStatusCode: number | null;
}

export const CLB_MIN_FIELDS = 12;
export const CLB_KNOWN_FIELDS = 15;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };
const LAYOUT: ElbLayout = { first: 0, timeName: 'timestamp', backendName: 'backend', expect: ["a number or '-'", "a number or '-'", "a number or '-'", "a number or '-'"] };

export function parseClbLine(line: string): ClbLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  if (n < CLB_MIN_FIELDS) return lineError(`Classic LB access log entry has ${n} fields, expected at least ${CLB_MIN_FIELDS} (timestamp through "request")`);
  return parseElbLine(tokens, n, LAYOUT, finishClb);
}

const finishClb: ElbFinish<ClbLogRecord> = (t, n, time, timeString, clientAddr, clientPort, backendAddr, backendPort, requestProcessingSeconds, backendProcessingSeconds, responseProcessingSeconds, elbStatusCode, backendStatusCode, receivedBytes, sentBytes, request) => {
  const rec: ClbLogRecord = {
    kind: 'clb',
    time,
    timeString,
    elb: t[1]!,
    clientAddr,
    clientPort,
    backendAddr,
    backendPort,
    requestProcessingSeconds,
    backendProcessingSeconds,
    responseProcessingSeconds,
    elbStatusCode,
    backendStatusCode,
    receivedBytes,
    sentBytes,
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
  splitUrl(rec.request.url, rec);
  return rec;
};
