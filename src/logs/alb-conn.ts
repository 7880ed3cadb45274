/**
 * ALB connection log entries: one per TLS connection attempt to an HTTPS listener (access logs
 * hold one entry per request; both carry conn_trace_id, which joins them).
 *
 *  1 timestamp               6 tls_cipher                 11 tls_verify_status (Success | Failed:$code)
 *  2 client_ip               7 tls_handshake_latency      12 conn_trace_id
 *  3 client_port             8 "leaf_client_cert_subject" 13 tls_keyexchange
 *  4 listener_port           9 leaf_client_cert_validity  14 elb
 *  5 tls_protocol           10 leaf_client_cert_serial_number   15 ip_address (load balancer node)
 *
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-connection-logs.html
 */
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt, parseDecimal, parseIsoSeconds, parseUint } from './fields.js';
import { lineError, type LineError } from './types.js';

export interface AlbConnectionLogRecord {
  kind: 'alb-conn';
  /** When the connection was established or failed, seconds since the epoch. */
  time: number;
  timeString: string;
  clientAddr: string;
  clientPort: number;
  listenerPort: number;
  tlsProtocol: string | null;
  tlsCipher: string | null;
  /** null when not TLS or the handshake failed. */
  tlsHandshakeSeconds: number | null;
  leafClientCertSubject: string | null;
  /** As logged: `NotBefore=...;NotAfter=...`. */
  leafClientCertValidity: string | null;
  leafClientCertNotBefore: number | null;
  leafClientCertNotAfter: number | null;
  leafClientCertSerialNumber: string | null;
  /** `Success` or `Failed:<code>`. */
  tlsVerifyStatus: string | null;
  /** The code after `Failed:` (ClientCertUntrusted, ...), else null. */
  tlsVerifyError: string | null;
  connTraceId: string | null;
  tlsKeyExchange: string | null;
  elb: string | null;
  /** IP address of the load balancer node that handled the connection. */
  lbNodeAddr: string | null;
  extra: string[];
  fieldCount: number;
  file: string;
  line: number;
}

export const ALB_CONN_MIN_FIELDS = 11;
export const ALB_CONN_KNOWN_FIELDS = 15;

/** Plain words for the mTLS verify error codes AWS documents. */
export const TLS_VERIFY_ERRORS: Record<string, string> = {
  ClientCertMaxChainDepthExceeded: 'the client certificate chain is deeper than the trust store allows',
  ClientCertMaxSizeExceeded: 'the client certificate is larger than the maximum size',
  ClientCertCrlHit: 'the client certificate is revoked (found in a CRL)',
  ClientCertCrlProcessingError: 'the certificate revocation list could not be processed',
  ClientCertUntrusted: 'the client certificate does not chain to a CA in the trust store',
  ClientCertNotYetValid: 'the client certificate is not valid yet (NotBefore in the future)',
  ClientCertExpired: 'the client certificate has expired',
  ClientCertTypeUnsupported: 'the client certificate type is not supported',
  ClientCertInvalid: 'the client certificate is invalid',
  ClientCertPurposeInvalid: 'the client certificate is not meant for client authentication',
  ClientCertRejected: 'the client certificate was rejected',
  UnmappedConnectionError: 'a connection error with no specific code',
  ClientCertIncompatible: 'the client certificate is incompatible with the listener configuration',
};

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };

function validityPart(v: string | null, key: string): number | null {
  if (v === null) return null;
  const i = v.indexOf(`${key}=`);
  if (i < 0) return null;
  let end = v.indexOf(';', i);
  if (end < 0) end = v.length;
  const t = parseIsoSeconds(v.substring(i + key.length + 1, end));
  return t === t ? t : null;
}

export function parseAlbConnectionLine(line: string): AlbConnectionLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  if (n < ALB_CONN_MIN_FIELDS) return lineError(`ALB connection log entry has ${n} fields, expected at least ${ALB_CONN_MIN_FIELDS}`);
  const t = tokens;
  const timeString = t[0]!;
  const time = parseIsoSeconds(timeString);
  if (time !== time) return lineError(`field 1 (timestamp) is not an ISO 8601 timestamp: '${timeString}'`);
  const clientPort = parseUint(t[2]!);
  if (!(clientPort <= 65535)) return lineError(`field 3 (client_port) is not a port: '${t[2]}'`);
  const listenerPort = parseUint(t[3]!);
  if (!(listenerPort <= 65535)) return lineError(`field 4 (listener_port) is not a port: '${t[3]}'`);
  let hs: number | null = null;
  if (t[6] !== '-') {
    hs = parseDecimal(t[6]!);
    if (hs !== hs) return lineError(`field 7 (tls_handshake_latency) is not a number: '${t[6]}'`);
  }
  const validity = opt(t[8]);
  const verify = opt(t[10]);
  return {
    kind: 'alb-conn',
    time,
    timeString,
    clientAddr: t[1]!,
    clientPort,
    listenerPort,
    tlsProtocol: opt(t[4]),
    tlsCipher: opt(t[5]),
    tlsHandshakeSeconds: hs,
    leafClientCertSubject: opt(t[7]),
    leafClientCertValidity: validity,
    leafClientCertNotBefore: validityPart(validity, 'NotBefore'),
    leafClientCertNotAfter: validityPart(validity, 'NotAfter'),
    leafClientCertSerialNumber: opt(t[9]),
    tlsVerifyStatus: verify,
    tlsVerifyError: verify !== null && verify.startsWith('Failed:') ? verify.substring(7) : null,
    connTraceId: n > 11 ? opt(t[11]) : null,
    tlsKeyExchange: n > 12 ? opt(t[12]) : null,
    elb: n > 13 ? opt(t[13]) : null,
    lbNodeAddr: n > 14 ? opt(t[14]) : null,
    extra: n > ALB_CONN_KNOWN_FIELDS ? t.slice(ALB_CONN_KNOWN_FIELDS, n) : [],
    fieldCount: n,
    file: '',
    line: 0,
  };
}
