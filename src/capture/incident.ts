/**
 * What a user starts an investigation from: a time window, a client address (from a ticket or an
 * access-log line) and/or an X-Amzn-Trace-Id. Parsed once by the CLI (`--since/--until/--around`,
 * `--client`, `--trace-id`) and handed to every stage that reads timed records, which apply it as
 * early as it can be decided (a log line by its own fields; a connection by its client end).
 */
import { parseIpv6 } from '../wire/ipv6.js';
import { ALL_TIME, isAllTime, widenWindow, windowFromOptions, type TimeWindow, type WindowOptions } from './window.js';

/** `--client IP[:PORT]` or `--client CIDR`. */
export interface ClientSpec {
  /** As the user wrote it (for messages). */
  readonly text: string;
  /** 4 or 16 address bytes. */
  readonly bytes: Uint8Array;
  /** Leading bits that must match (32/128 for one address). */
  readonly prefixBits: number;
  /** Client port, or null for any. */
  readonly port: number | null;
}

export interface Incident {
  readonly window: TimeWindow;
  readonly client: ClientSpec | null;
  /** The Root of an X-Amzn-Trace-Id (`1-67891233-abcdef012345678912345678`), lower case; null for none. */
  readonly traceRoot: string | null;
}

export const NO_INCIDENT: Incident = Object.freeze({ window: ALL_TIME, client: null, traceRoot: null });

/** True when nothing is selected (every record passes). */
export function isEverything(i: Incident | null | undefined): boolean {
  return i === null || i === undefined || (isAllTime(i.window) && i.client === null && i.traceRoot === null);
}

function parseV4(s: string): Uint8Array | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return Uint8Array.from(p.map(Number));
}

/** Address bytes of an IPv4 or IPv6 text address, or null. */
export function addressBytes(s: string): Uint8Array | null {
  if (s.includes(':')) {
    const out = new Uint8Array(16);
    return parseIpv6(s, out) ? out : null;
  }
  return parseV4(s);
}

/**
 * Parses `10.0.1.7`, `10.0.1.7:53211`, `10.0.1.0/24`, `2001:db8::7`, `[2001:db8::7]:53211`,
 * `2001:db8::/64`. Throws RangeError.
 */
export function parseClient(text: string): ClientSpec {
  const s = text.trim();
  const bad = (why: string): RangeError => new RangeError(`not a client address: '${text}' (${why}; use IP, IP:PORT, [IPv6]:PORT or a CIDR such as 10.0.1.0/24)`);
  let addr = s;
  let port: number | null = null;
  let prefix: number | null = null;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    addr = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (/^[\d.]+:\d+$/.test(s)) {
    const i = s.lastIndexOf(':');
    addr = s.slice(0, i);
    port = Number(s.slice(i + 1));
  }
  const slash = addr.indexOf('/');
  if (slash >= 0) {
    if (!/^\d{1,3}$/.test(addr.slice(slash + 1))) throw bad('bad prefix length');
    prefix = Number(addr.slice(slash + 1));
    addr = addr.slice(0, slash);
  }
  const bytes = addressBytes(addr);
  if (bytes === null) throw bad('bad address');
  if (prefix !== null && prefix > bytes.length * 8) throw bad('prefix longer than the address');
  if (port !== null && (port < 0 || port > 65535)) throw bad('port out of range');
  return { text: s, bytes, prefixBits: prefix ?? bytes.length * 8, port };
}

/** True when `addr` (text, as the flow and log stages write it) and `port` match the spec. */
export function clientMatches(spec: ClientSpec, addr: string, port: number | null): boolean {
  if (spec.port !== null && port !== spec.port) return false;
  const b = addressBytes(addr);
  if (b === null) return false;
  let want = spec.bytes;
  let have = b;
  // An IPv4 spec matches the IPv4-mapped IPv6 form (::ffff:a.b.c.d) and back.
  if (want.length !== have.length) {
    const mapped = (x: Uint8Array): Uint8Array | null =>
      x.length === 16 && x.subarray(0, 10).every((v) => v === 0) && x[10] === 0xff && x[11] === 0xff ? x.subarray(12) : null;
    if (want.length === 4) have = mapped(have) ?? have;
    else want = mapped(want) ?? want;
    if (want.length !== have.length) return false;
  }
  const prefixBits = spec.bytes.length === want.length ? spec.prefixBits : Math.max(0, spec.prefixBits - 96);
  const full = prefixBits >> 3;
  for (let i = 0; i < full; i++) if (want[i] !== have[i]) return false;
  const rest = prefixBits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (want[full]! & mask) === (have[full]! & mask);
}

/**
 * The Root of a trace id as users paste it: `Root=1-67891233-abcdef012345678912345678`, the whole
 * header (`Self=...;Root=...;Sampled=1`), or the bare `1-67891233-...`. Lower case. Throws RangeError.
 */
export function parseTraceId(text: string): string {
  const s = text.trim().replace(/^x-amzn-trace-id:\s*/i, '');
  let root: string | null = null;
  for (const part of s.split(';')) {
    const p = part.trim();
    if (/^root=/i.test(p)) root = p.slice(5);
  }
  if (root === null && !s.includes('=')) root = s;
  if (root === null || !/^1-[0-9a-f]{8}-[0-9a-f]{24}$/i.test(root)) {
    throw new RangeError(`not an X-Amzn-Trace-Id: '${text}' (want Root=1-67891233-abcdef012345678912345678 or 1-67891233-...)`);
  }
  return root.toLowerCase();
}

/** The epoch second encoded in a trace id's Root (its 8 hex digits after `1-`): when the ALB first saw the request. */
export function traceIdTime(root: string): number {
  return parseInt(root.slice(2, 10), 16);
}

/** True when a trace id field (log `trace_id` or request header) carries this Root. */
export function traceMatches(root: string, field: string | null): boolean {
  return field !== null && field.toLowerCase().includes(root);
}

export interface IncidentOptions extends WindowOptions {
  client?: string | undefined;
  traceId?: string | undefined;
}

/**
 * How far around a trace id's own time a `--trace-id` alone looks: the request was first seen at
 * that second; its response and the log line come at most the ALB's idle timeout later (4000 s
 * at most); a little before covers clock skew.
 */
export const TRACE_WINDOW_BEFORE = 60;
export const TRACE_WINDOW_AFTER = 4000;

/**
 * The incident the options describe; null when none is given. A trace id alone also sets the
 * window around the time in its Root. Throws RangeError whose message names the option.
 */
export function incidentFromOptions(o: IncidentOptions, now?: () => number): Incident | null {
  let window = windowFromOptions(o, now);
  const named = <T>(opt: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new RangeError(`--${opt}: ${(e as Error).message}`);
    }
  };
  const client = o.client === undefined ? null : named('client', () => parseClient(o.client!));
  const traceRoot = o.traceId === undefined ? null : named('trace-id', () => parseTraceId(o.traceId!));
  if (window === null && client === null && traceRoot === null) return null;
  if (window === null && traceRoot !== null) {
    const t = traceIdTime(traceRoot);
    window = widenWindow({ since: t, until: t }, TRACE_WINDOW_BEFORE, TRACE_WINDOW_AFTER);
  }
  return { window: window ?? ALL_TIME, client, traceRoot };
}
