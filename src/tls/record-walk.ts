/**
 * The TLS record walk of a targeted analysis's first pass: for each connection the survey
 * (flow/survey.ts) hands it the in-order payload until both directions are encrypted, and it
 * follows the record boundaries (RFC 8446 §5.1, RFC 5246 §6.2):
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+---------------+---------------+---------------+---
 *   | content type  | legacy version (major 3, minor)| length (uint16)               | fragment...
 *   +---------------+---------------+---------------+---------------+---------------+---
 *
 * content types: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data, 24 heartbeat.
 *
 * What it decides, without decrypting or parsing a handshake message: whether the connection is
 * TLS (the client's first byte starts a handshake record), and whether an alert was sent in the
 * clear before its sender's encryption started (a change_cipher_spec or application_data record
 * from that side) — the only way a handshake failure shows. Such a connection, or one whose bytes
 * stop looking like TLS records, is marked for dissection (Complex.TlsAlert, Complex.Unparsed).
 * Nothing is allocated until a connection's first payload, then one small object.
 */
import { Complex } from '../flow/survey-facts.js';
import type { SurveyConn } from '../flow/survey.js';
import type { SurveyRecords } from '../flow/survey-records.js';

/** SurveyConn.tag bit: the connection is TLS (its client opened with a handshake record). */
const TAG_TLS = 1;

const CT_CHANGE_CIPHER_SPEC = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPLICATION_DATA = 23;
const CT_HEARTBEAT = 24;
/** Largest TLSCiphertext fragment (2^14 + 2048). */
const MAX_RECORD = 18432;
const HEADER = 5;

/** A TLS connection's walk: per direction, the bytes left in the current record and the header being gathered. */
export class TlsWalk {
  /** Bytes of the current record's fragment still to come, per direction. */
  private readonly left = [0, 0];
  /** Header bytes gathered so far (0..4), per direction, and their values. */
  private readonly got = [0, 0];
  private readonly head = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  /** The direction sent change_cipher_spec or application_data (its later records are encrypted). */
  readonly encrypted = [false, false];

  /** Follows `length` bytes of direction `dir`; returns Complex bits to add (0 when all is well). */
  walk(dir: 0 | 1, data: Uint8Array, offset: number, length: number): number {
    let i = offset;
    const end = offset + length;
    const h = dir * HEADER;
    while (i < end) {
      const left = this.left[dir]!;
      if (left > 0) {
        const n = end - i < left ? end - i : left;
        this.left[dir] = left - n;
        i += n;
        continue;
      }
      let got = this.got[dir]!;
      while (got < HEADER && i < end) this.head[h + got++] = data[i++]!;
      this.got[dir] = got;
      if (got < HEADER) break;
      this.got[dir] = 0;
      const type = this.head[h]!;
      const len = (this.head[h + 3]! << 8) | this.head[h + 4]!;
      if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT || this.head[h + 1] !== 3 || len > MAX_RECORD) return Complex.Unparsed;
      if (type === CT_ALERT && !this.encrypted[dir]) return Complex.TlsAlert;
      if (type === CT_CHANGE_CIPHER_SPEC || type === CT_APPLICATION_DATA) this.encrypted[dir] = true;
      this.left[dir] = len;
    }
    return 0;
  }
}

/**
 * The survey's observer: starts a walk on a connection whose client opens with a handshake
 * record, walks until both directions are encrypted, and stops observing other connections at
 * their first byte.
 */
export function observeTls(conn: SurveyConn, dir: 0 | 1, data: Uint8Array, offset: number, length: number): void {
  let w = conn.note as TlsWalk | null;
  if (w === null) {
    if (dir !== 0 || length < 1 || data[offset] !== CT_HANDSHAKE) {
      if (dir === 0 && startsH2c(data, offset, length)) conn.complex |= Complex.Http2;
      conn.observing = false;
      return;
    }
    if (offersH2(data, offset, length)) conn.complex |= Complex.Http2;
    w = new TlsWalk();
    conn.note = w;
    conn.tag |= TAG_TLS;
  }
  const bits = w.walk(dir, data, offset, length);
  if (bits !== 0) {
    conn.complex |= bits;
    conn.observing = false;
  } else if (w.encrypted[0] && w.encrypted[1]) {
    // (The walk's state is dropped: the survey's tag says the connection was TLS.)
    conn.observing = false;
    conn.note = null;
  }
}

/** 'PRI ' (the HTTP/2 connection preface, RFC 9113 §3.4: h2c with prior knowledge). */
function startsH2c(d: Uint8Array, o: number, n: number): boolean {
  return n >= 4 && d[o] === 0x50 && d[o + 1] === 0x52 && d[o + 2] === 0x49 && d[o + 3] === 0x20;
}

const HS_CLIENT_HELLO = 1;
const EXT_ALPN = 16;

/**
 * Whether the ClientHello starting this first client segment offers ALPN "h2" (RFC 8446 §4.1.2,
 * RFC 7301 §3.1): record header, handshake header, version, random, session id, cipher suites,
 * compression methods, then the extensions. A ClientHello longer than the segment is taken as
 * offering it (the rest is not looked for).
 *
 *   ClientHello: u16 version | 32 random | u8 len session id | u16 len suites | u8 len methods | u16 len extensions
 *   extension:   u16 type | u16 len | data;   ALPN data: u16 len | (u8 len | protocol)...
 */
export function offersH2(d: Uint8Array, o: number, n: number): boolean {
  const end = o + n;
  const u8 = (i: number): number => (i < end ? d[i]! : -1);
  const u16 = (i: number): number => (i + 1 < end ? (d[i]! << 8) | d[i + 1]! : -1);
  if (u8(o + HEADER) !== HS_CLIENT_HELLO) return false;
  // Where the ClientHello ends (its handshake length): one without extensions offers nothing.
  const l1 = u8(o + HEADER + 1);
  const l2 = u8(o + HEADER + 2);
  const l3 = u8(o + HEADER + 3);
  if (l1 < 0 || l2 < 0 || l3 < 0) return true;
  const helloEnd = o + HEADER + 4 + ((l1 << 16) | (l2 << 8) | l3);
  let i = o + HEADER + 4 + 2 + 32;
  const sid = u8(i);
  if (sid < 0) return true;
  i += 1 + sid;
  const suites = u16(i);
  if (suites < 0) return true;
  i += 2 + suites;
  const methods = u8(i);
  if (methods < 0) return true;
  i += 1 + methods;
  if (i >= helloEnd) return false;
  const extLen = u16(i);
  if (extLen < 0) return true;
  i += 2;
  const extEnd = i + extLen;
  while (i + 4 <= extEnd) {
    const type = u16(i);
    const len = u16(i + 2);
    if (type < 0 || len < 0) return true;
    if (type === EXT_ALPN) {
      let j = i + 6;
      const alpnEnd = Math.min(i + 4 + len, end);
      while (j < alpnEnd) {
        const l = u8(j);
        if (l === 2 && u8(j + 1) === 0x68 && u8(j + 2) === 0x32) return true;
        if (l < 0) return true;
        j += 1 + l;
      }
      return i + 4 + len > end;
    }
    i += 4 + len;
  }
  return false;
}

/** Whether the survey found the connection of this row to be TLS (its client opened with a handshake record). */
export function isTlsSurveyed(r: SurveyRecords, row: number): boolean {
  return (r.tag(row) & TAG_TLS) !== 0;
}
