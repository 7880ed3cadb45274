/**
 * The packet facts the lab checks, read from its capture with tshark (a reference peer, not our
 * own decoders: the lab proves its scenarios independently of the code it tests). TLS on the client
 * side is decrypted by tshark with the key log, so HTTP/1.1 and HTTP/2 request paths and statuses
 * are visible on all three mirror sessions.
 */
import { exec } from './proc.js';
import { ADDR } from './topology.js';

export type Side = 'client-side' | 'alb-target-side' | 'target-eni' | 'other';

export interface Pkt {
  time: number;
  side: Side;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** TCP flags as a number (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags: number;
  len: number;
  seq: number;
  ack: number;
  /** tshark's tcp.stream: one id per connection (per side). */
  stream: number;
  /** HTTP/1.1 request URI / response code, HTTP/2 :path / :status (decrypted where TLS). */
  uris: string[];
  statuses: number[];
  /** HTTP/1.1 request header lines. */
  headerLines: string[];
  /** HTTP/1.1 response header lines (status line excluded), and the Content-Length it declares. */
  responseLines: string[];
  contentLength: number | null;
  /** TLS alert descriptions in this packet (70 protocol_version, 40 handshake_failure, ...), unencrypted ones. */
  tlsAlerts: number[];
  /** TLS handshake message types in this packet (1 ClientHello, 2 ServerHello). */
  tlsHandshake: number[];
  alpn: string[];
}

export const FIN = 1;
export const SYN = 2;
export const RST = 4;
export const ACK = 16;

const FIELDS = [
  'frame.time_epoch',
  'ip.src',
  'tcp.srcport',
  'ip.dst',
  'tcp.dstport',
  'tcp.flags',
  'tcp.len',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.stream',
  'http.request.uri',
  'http.response.code',
  'http2.headers.path',
  'http2.headers.status',
  'http.request.line',
  'tls.handshake.type',
  'tls.handshake.extensions_alpn_str',
  'http.response.line',
  'http.content_length_header',
  'tls.alert_message.desc',
];

const SEP = '\x1f';

function sideOf(src: string, dst: string): Side {
  const has = (p: string): boolean => src.startsWith(p) || dst.startsWith(p);
  if (has('198.51.100.')) return 'client-side';
  if (src.startsWith('10.0.2.') || dst.startsWith('10.0.2.')) return 'target-eni';
  if (has('10.0.1.')) return 'alb-target-side';
  return 'other';
}

function last(field: string): string {
  const parts = field.split(SEP);
  return parts[parts.length - 1] ?? '';
}

function list(field: string): string[] {
  return field === '' ? [] : field.split(SEP);
}

/** Reads every TCP packet of a capture (VXLAN-encapsulated or plain), inner layers. */
export async function readPackets(capture: string, keylog?: string, opts: { targetTls?: boolean } = {}): Promise<Pkt[]> {
  const args = ['-n', '-r', capture, '-Y', 'tcp', '-T', 'fields', '-E', 'occurrence=a', '-E', `aggregator=${SEP}`, '-E', 'separator=\t'];
  // Wireshark decodes HTTP on 80 and 8080 already; say it for 443 TLS content too.
  if (keylog) args.push('-o', `tls.keylog_file:${keylog}`);
  // A response head is dissected when it arrives, not when its body is complete (short-body's never is).
  args.push('-o', 'http.desegment_body:FALSE');
  // An HTTPS target group: the ALB → NLB → target legs carry TLS on the HTTP ports.
  if (opts.targetTls) args.push('-d', `tcp.port==${ADDR.nlbPort},tls`, '-d', `tcp.port==${ADDR.targetPort},tls`);
  for (const f of FIELDS) args.push('-e', f);
  const r = await exec('tshark', args, { timeoutMs: 600_000 });
  const out: Pkt[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    const src = last(c[1] ?? '');
    const dst = last(c[3] ?? '');
    out.push({
      time: Number(c[0]),
      side: sideOf(src, dst),
      src,
      sport: Number(last(c[2] ?? '')),
      dst,
      dport: Number(last(c[4] ?? '')),
      flags: Number.parseInt(last(c[5] ?? '0'), 16),
      len: Number(last(c[6] ?? '0')),
      seq: Number(last(c[7] ?? '0')),
      ack: Number(last(c[8] ?? '0')),
      stream: Number(last(c[9] ?? '-1')),
      uris: [...list(c[10] ?? ''), ...list(c[12] ?? '')],
      statuses: [...list(c[11] ?? ''), ...list(c[13] ?? '')].map(Number),
      headerLines: list(c[14] ?? '').map((h) => h.replace(/(\\r)?\\n$/, '')),  // tshark prints CRLF as the text \r\n
      tlsHandshake: list(c[15] ?? '').map(Number),
      alpn: list(c[16] ?? ''),
      responseLines: list(c[17] ?? '').map((h) => h.replace(/(\\r)?\\n$/, '')),
      contentLength: c[18] ? Number(last(c[18])) : null,
      tlsAlerts: list(c[19] ?? '').map(Number),
    });
  }
  return out;
}

export const ep = (addr: string, port: number): string => `${addr}:${port}`;
export const NLB_VIP = ep(ADDR.nlbVip, ADDR.nlbPort);
export const TARGET_EP = ep(ADDR.target, ADDR.targetPort);

/** The ALB→NLB request packet that carries `traceId` in its X-Amzn-Trace-Id header. */
export function requestWithTrace(pkts: readonly Pkt[], traceId: string): Pkt | undefined {
  const want = `X-Amzn-Trace-Id: ${traceId}`;
  return pkts.find((p) => p.side === 'alb-target-side' && p.headerLines.some((h) => h.trim() === want));
}

/** Packets of one connection (same side and tcp.stream). */
export function connOf(pkts: readonly Pkt[], p: Pkt): Pkt[] {
  return pkts.filter((q) => q.side === p.side && q.stream === p.stream);
}

export function describe(p: Pkt): string {
  const names: string[] = [];
  if (p.flags & SYN) names.push('SYN');
  if (p.flags & FIN) names.push('FIN');
  if (p.flags & RST) names.push('RST');
  if (p.flags & ACK) names.push('ACK');
  return `${new Date(p.time * 1000).toISOString()} ${p.src}:${p.sport} > ${p.dst}:${p.dport} [${names.join(',')}] len ${p.len}`;
}

/** An HTTP/2 GOAWAY frame (decrypted with the key log). */
export interface GoawayFrame {
  time: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  lastStreamId: number;
  /** The error code (0 NO_ERROR). */
  errorCode: number;
}

/** Every HTTP/2 GOAWAY frame in a capture, as tshark decrypts and reads it. */
export async function readGoaways(capture: string, keylog: string): Promise<GoawayFrame[]> {
  const r = await exec('tshark', ['-n', '-r', capture, '-o', `tls.keylog_file:${keylog}`, '-Y', 'http2.type == 7', '-T', 'fields', '-E', 'occurrence=a', '-E', `aggregator=${SEP}`, '-E', 'separator=\t', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'http2.goaway.last_stream_id', '-e', 'http2.goaway.error'], { timeoutMs: 120_000 });
  const out: GoawayFrame[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    const ids = list(c[5] ?? '');
    const codes = list(c[6] ?? '');
    // One packet may carry several frames: one entry per GOAWAY in it.
    ids.forEach((id, i) => out.push({ time: Number(c[0]), src: last(c[1] ?? ''), sport: Number(last(c[2] ?? '')), dst: last(c[3] ?? ''), dport: Number(last(c[4] ?? '')), lastStreamId: Number(id), errorCode: Number(codes[i] ?? codes[0] ?? '-1') }));
  }
  return out;
}

/** ICMP destination-unreachable messages in a capture, with the source port of the TCP segment each quotes. */
export async function readIcmpErrors(capture: string): Promise<{ time: number; src: string; type: number; code: number; quotedSport: number }[]> {
  const r = await exec('tshark', ['-n', '-r', capture, '-Y', 'icmp.type == 3', '-T', 'fields', '-E', 'occurrence=a', '-E', `aggregator=${SEP}`, '-E', 'separator=\t', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'icmp.type', '-e', 'icmp.code', '-e', 'tcp.srcport'], { timeoutMs: 120_000 });
  const out: { time: number; src: string; type: number; code: number; quotedSport: number }[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    const srcs = list(c[1] ?? '');
    // The last IP header is the quoted one; the one before it sent the ICMP message.
    out.push({ time: Number(c[0]), src: srcs[srcs.length - 2] ?? srcs[0] ?? '', type: Number(last(c[2] ?? '')), code: Number(last(c[3] ?? '')), quotedSport: Number(last(c[4] ?? '-1')) });
  }
  return out;
}
