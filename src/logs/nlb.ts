/**
 * NLB access log entries. NLBs log only TLS listeners, one entry per TLS connection, written when
 * it closes.
 *
 *  1 type (tls)          8 connection_time (ms)     15 tls_cipher             22 tls_connection_creation_time
 *  2 version (2.0)       9 tls_handshake_time (ms)  16 tls_protocol_version
 *  3 time (end of conn) 10 received_bytes           17 tls_named_group
 *  4 elb                11 sent_bytes               18 domain_name (URL-encoded SNI)
 *  5 listener           12 incoming_tls_alert       19 alpn_fe_protocol
 *  6 client:port        13 chosen_cert_arn          20 alpn_be_protocol
 *  7 destination:port   14 chosen_cert_serial       21 alpn_client_preference_list
 *
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html
 */
import { tokenize, type TokenizeResult } from './tokenize.js';
import { opt, parseAddrPort, parseIsoSeconds, parseUint, type AddrPort } from './fields.js';
import { lineError, type LineError } from './types.js';
import { ALERT_DESCRIPTIONS } from '../tls/handshake.js';

export interface NlbLogRecord {
  kind: 'nlb';
  /** Listener type; `tls`. */
  type: string;
  version: string;
  /** End of the TLS connection, seconds since the epoch (AWS writes no zone; it is UTC). */
  time: number;
  timeString: string;
  elb: string;
  listener: string;
  clientAddr: string;
  clientPort: number;
  /** Listener address, or the VPC endpoint when the client came through an endpoint service. */
  destinationAddr: string;
  destinationPort: number;
  connectionMilliseconds: number | null;
  tlsHandshakeMilliseconds: number | null;
  receivedBytes: number | null;
  sentBytes: number | null;
  /** TLS alert received from the client (its numeric value), null when none. */
  incomingTlsAlert: number | null;
  /** RFC 8446 name of that alert (`handshake_failure`, ...). */
  incomingTlsAlertName: string | null;
  chosenCertArn: string | null;
  chosenCertSerial: string | null;
  tlsCipher: string | null;
  tlsProtocolVersion: string | null;
  tlsNamedGroup: string | null;
  domainName: string | null;
  alpnFeProtocol: string | null;
  alpnBeProtocol: string | null;
  alpnClientPreferenceList: string[];
  tlsConnectionCreationTime: number | null;
  tlsConnectionCreationTimeString: string | null;
  extra: string[];
  fieldCount: number;
  file: string;
  line: number;
}

export const NLB_MIN_FIELDS = 18;
export const NLB_KNOWN_FIELDS = 22;

/** TLS alert descriptions (RFC 8446 §6 and RFC 5246 §7.2), by code: the TLS stage's table. */
export const TLS_ALERTS: Readonly<Record<number, string>> = ALERT_DESCRIPTIONS;

const tokens: string[] = [];
const tres: TokenizeResult = { count: 0, error: '', column: 0 };
const ap: AddrPort = { addr: '', port: 0 };

function optUint(s: string | undefined): number | null {
  if (s === undefined || s === '-') return null;
  return parseUint(s);
}

function alpnList(s: string | undefined): string[] {
  if (s === undefined || s === '-' || s === '') return [];
  // Logged as `"h2","http/1.1"`; the tokenizer removed the outer quotes.
  const out: string[] = [];
  for (const part of s.split(',')) {
    let p = part;
    if (p.startsWith('"')) p = p.substring(1);
    if (p.endsWith('"')) p = p.substring(0, p.length - 1);
    try {
      p = decodeURIComponent(p);
    } catch {
      // keep it as logged
    }
    if (p.length > 0) out.push(p);
  }
  return out;
}

export function parseNlbLine(line: string): NlbLogRecord | LineError {
  tokenize(line, tokens, null, tres);
  const n = tres.count;
  if (n < 0) return lineError(tres.error, tres.column);
  if (n < NLB_MIN_FIELDS) return lineError(`NLB access log entry has ${n} fields, expected at least ${NLB_MIN_FIELDS}`);
  const t = tokens;
  const timeString = t[2]!;
  const time = parseIsoSeconds(timeString);
  if (time !== time) return lineError(`field 3 (time) is not an ISO 8601 timestamp: '${timeString}'`);
  if (!parseAddrPort(t[5]!, ap)) return lineError(`field 6 (client:port) is not address:port: '${t[5]}'`);
  const clientAddr = ap.addr;
  const clientPort = ap.port;
  if (!parseAddrPort(t[6]!, ap)) return lineError(`field 7 (destination:port) is not address:port: '${t[6]}'`);
  const nums: (number | null)[] = [optUint(t[7]), optUint(t[8]), optUint(t[9]), optUint(t[10]), optUint(t[11])];
  const names = ['connection_time', 'tls_handshake_time', 'received_bytes', 'sent_bytes', 'incoming_tls_alert'];
  for (let i = 0; i < nums.length; i++) {
    const v = nums[i]!;
    if (v !== null && v !== v) return lineError(`field ${8 + i} (${names[i]}) is not a number: '${t[7 + i]}'`);
  }
  let cct: number | null = null;
  const cctString = n > 21 ? opt(t[21]) : null;
  if (cctString !== null) {
    cct = parseIsoSeconds(cctString);
    if (cct !== cct) return lineError(`field 22 (tls_connection_creation_time) is not an ISO 8601 timestamp: '${cctString}'`);
  }
  const alert = nums[4]!;
  return {
    kind: 'nlb',
    type: t[0]!,
    version: t[1]!,
    time,
    timeString,
    elb: t[3]!,
    listener: t[4]!,
    clientAddr,
    clientPort,
    destinationAddr: ap.addr,
    destinationPort: ap.port,
    connectionMilliseconds: nums[0]!,
    tlsHandshakeMilliseconds: nums[1]!,
    receivedBytes: nums[2]!,
    sentBytes: nums[3]!,
    incomingTlsAlert: alert,
    incomingTlsAlertName: alert === null ? null : (TLS_ALERTS[alert] ?? `alert ${alert}`),
    chosenCertArn: opt(t[12]),
    chosenCertSerial: opt(t[13]),
    tlsCipher: opt(t[14]),
    tlsProtocolVersion: opt(t[15]),
    tlsNamedGroup: opt(t[16]),
    domainName: opt(t[17]),
    alpnFeProtocol: n > 18 ? opt(t[18]) : null,
    alpnBeProtocol: n > 19 ? opt(t[19]) : null,
    alpnClientPreferenceList: alpnList(n > 20 ? t[20] : undefined),
    tlsConnectionCreationTime: cct,
    tlsConnectionCreationTimeString: cctString,
    extra: n > NLB_KNOWN_FIELDS ? t.slice(NLB_KNOWN_FIELDS, n) : [],
    fieldCount: n,
    file: '',
    line: 0,
  };
}
