/**
 * TLS handshake message bodies that decryption and reports need (RFC 8446 §4, RFC 5246 §7.4).
 *
 *   Handshake: msg_type(1) length(3) body
 *   ClientHello: legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *                legacy_compression_methods<1..2^8-1> extensions<8..2^16-1>
 *   ServerHello: legacy_version(2) random(32) session_id<0..32> cipher_suite(2)
 *                compression_method(1) extensions<6..2^16-1>
 *   Extension:   extension_type(2) extension_data<0..2^16-1>
 *
 * Parsers are bounded by each declared length and return null when a message is malformed; they
 * never throw on captured bytes. Strings (SNI, ALPN) are kept raw (latin1): reports escape them.
 */

export const HS_HELLO_REQUEST = 0;
export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_END_OF_EARLY_DATA = 5;
export const HS_ENCRYPTED_EXTENSIONS = 8;
export const HS_CERTIFICATE = 11;
export const HS_SERVER_HELLO_DONE = 14;
export const HS_CLIENT_KEY_EXCHANGE = 16;
export const HS_FINISHED = 20;
export const HS_KEY_UPDATE = 24;

export const EXT_SERVER_NAME = 0;
export const EXT_ALPN = 16;
export const EXT_ENCRYPT_THEN_MAC = 22;
export const EXT_EXTENDED_MASTER_SECRET = 23;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_EARLY_DATA = 42;
export const EXT_SUPPORTED_VERSIONS = 43;

/** ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256("HelloRetryRequest"). */
export const HRR_RANDOM = Uint8Array.from(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'));

export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  sni: string | null;
  alpn: string[];
  /** session_ticket extension: null when absent, empty when asking for a new ticket. */
  ticket: Uint8Array | null;
  supportedVersions: number[];
  earlyData: boolean;
  pskOffered: boolean;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
}

export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  /** supported_versions selection, else legacyVersion. */
  version: number;
  alpn: string | null;
  helloRetryRequest: boolean;
  pskAccepted: boolean;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  /** Server sent an (empty) session_ticket extension: a NewSessionTicket follows. */
  ticketPromised: boolean;
}

export interface EncryptedExtensions {
  alpn: string | null;
  earlyDataAccepted: boolean;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Walks extensions in b[start, end); calls fn(type, data). Returns false when malformed. */
function walkExtensions(b: Uint8Array, start: number, end: number, fn: (type: number, data: Uint8Array) => void): boolean {
  let o = start;
  while (o < end) {
    if (o + 4 > end) return false;
    const type = u16(b, o);
    const len = u16(b, o + 2);
    o += 4;
    if (o + len > end) return false;
    fn(type, b.subarray(o, o + len));
    o += len;
  }
  return true;
}

function parseAlpnList(d: Uint8Array): string[] {
  const out: string[] = [];
  if (d.length < 2) return out;
  const end = Math.min(d.length, 2 + u16(d, 0));
  let o = 2;
  while (o < end) {
    const l = d[o]!;
    if (o + 1 + l > end) break;
    out.push(latin1(d.subarray(o + 1, o + 1 + l)));
    o += 1 + l;
  }
  return out;
}

/** Extensions block at `o` (2-byte length) within b; returns its end or -1. */
function extensionsBlock(b: Uint8Array, o: number): { start: number; end: number } | null {
  if (o === b.length) return { start: o, end: o };
  if (o + 2 > b.length) return null;
  const end = o + 2 + u16(b, o);
  if (end > b.length) return null;
  return { start: o + 2, end };
}

export function parseClientHello(b: Uint8Array): ClientHello | null {
  if (b.length < 35) return null;
  const legacyVersion = u16(b, 0);
  const random = b.slice(2, 34);
  let o = 34;
  const sidLen = b[o]!;
  if (sidLen > 32 || o + 1 + sidLen > b.length) return null;
  const sessionId = b.slice(o + 1, o + 1 + sidLen);
  o += 1 + sidLen;
  if (o + 2 > b.length) return null;
  const csLen = u16(b, o);
  if (o + 2 + csLen > b.length || csLen % 2) return null;
  const cipherSuites: number[] = [];
  for (let i = 0; i < csLen; i += 2) cipherSuites.push(u16(b, o + 2 + i));
  o += 2 + csLen;
  if (o + 1 > b.length) return null;
  const compLen = b[o]!;
  o += 1 + compLen;
  if (o > b.length) return null;
  const ch: ClientHello = {
    legacyVersion, random, sessionId, cipherSuites, sni: null, alpn: [], ticket: null, supportedVersions: [],
    earlyData: false, pskOffered: false, extendedMasterSecret: false, encryptThenMac: false,
  };
  const ext = extensionsBlock(b, o);
  if (ext === null) return null;
  const ok = walkExtensions(b, ext.start, ext.end, (type, d) => {
    switch (type) {
      case EXT_SERVER_NAME: {
        if (d.length < 2) break;
        const end = Math.min(d.length, 2 + u16(d, 0));
        let p = 2;
        while (p + 3 <= end) {
          const nameType = d[p]!;
          const l = u16(d, p + 1);
          if (p + 3 + l > end) break;
          if (nameType === 0 && ch.sni === null) ch.sni = latin1(d.subarray(p + 3, p + 3 + l));
          p += 3 + l;
        }
        break;
      }
      case EXT_ALPN:
        ch.alpn = parseAlpnList(d);
        break;
      case EXT_SESSION_TICKET:
        ch.ticket = d.slice();
        break;
      case EXT_SUPPORTED_VERSIONS: {
        const l = d[0] ?? 0;
        for (let p = 1; p + 1 < Math.min(d.length, 1 + l); p += 2) ch.supportedVersions.push(u16(d, p));
        break;
      }
      case EXT_EARLY_DATA:
        ch.earlyData = true;
        break;
      case EXT_PRE_SHARED_KEY:
        ch.pskOffered = true;
        break;
      case EXT_EXTENDED_MASTER_SECRET:
        ch.extendedMasterSecret = true;
        break;
      case EXT_ENCRYPT_THEN_MAC:
        ch.encryptThenMac = true;
        break;
    }
  });
  return ok ? ch : null;
}

/**
 * SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2): msg_type(1)=1 version(2)
 * cipher_spec_length(2) session_id_length(2) challenge_length(2) cipher_specs session_id challenge.
 * The TLS client random is the challenge right-aligned in 32 zero bytes.
 */
export function parseSsl2ClientHello(b: Uint8Array): ClientHello | null {
  if (b.length < 9 || b[0] !== 1) return null;
  const specLen = u16(b, 3);
  const sidLen = u16(b, 5);
  const chLen = u16(b, 7);
  if (9 + specLen + sidLen + chLen > b.length || chLen < 16 || chLen > 32 || specLen % 3) return null;
  const cipherSuites: number[] = [];
  for (let i = 0; i < specLen; i += 3) if (b[9 + i] === 0) cipherSuites.push(u16(b, 10 + i));
  const random = new Uint8Array(32);
  random.set(b.subarray(9 + specLen + sidLen, 9 + specLen + sidLen + chLen), 32 - chLen);
  return {
    legacyVersion: u16(b, 1), random, sessionId: b.slice(9 + specLen, 9 + specLen + sidLen), cipherSuites, sni: null,
    alpn: [], ticket: null, supportedVersions: [], earlyData: false, pskOffered: false, extendedMasterSecret: false,
    encryptThenMac: false,
  };
}

export function parseServerHello(b: Uint8Array): ServerHello | null {
  if (b.length < 38) return null;
  const legacyVersion = u16(b, 0);
  const random = b.slice(2, 34);
  let o = 34;
  let sessionId = new Uint8Array(0);
  let cipherSuite: number;
  if ((legacyVersion & 0xff00) === 0x7f00 && (legacyVersion & 0xff) < 22) {
    // TLS 1.3 drafts before -22: version random cipher_suite extensions (no session id echo).
    cipherSuite = u16(b, o);
    o += 2;
  } else {
    const sidLen = b[o]!;
    if (sidLen > 32 || o + 1 + sidLen + 3 > b.length) return null;
    sessionId = b.slice(o + 1, o + 1 + sidLen);
    o += 1 + sidLen;
    cipherSuite = u16(b, o);
    o += 3;
  }
  let hrr = true;
  for (let i = 0; i < 32; i++) if (random[i] !== HRR_RANDOM[i]) hrr = false;
  const sh: ServerHello = {
    legacyVersion, random, sessionId, cipherSuite, version: legacyVersion, alpn: null, helloRetryRequest: hrr,
    pskAccepted: false, extendedMasterSecret: false, encryptThenMac: false, ticketPromised: false,
  };
  const ext = extensionsBlock(b, o);
  if (ext === null) return null;
  const ok = walkExtensions(b, ext.start, ext.end, (type, d) => {
    switch (type) {
      case EXT_SUPPORTED_VERSIONS:
        if (d.length >= 2) sh.version = u16(d, 0);
        break;
      case EXT_ALPN:
        sh.alpn = parseAlpnList(d)[0] ?? null;
        break;
      case EXT_PRE_SHARED_KEY:
        sh.pskAccepted = true;
        break;
      case EXT_EXTENDED_MASTER_SECRET:
        sh.extendedMasterSecret = true;
        break;
      case EXT_ENCRYPT_THEN_MAC:
        sh.encryptThenMac = true;
        break;
      case EXT_SESSION_TICKET:
        sh.ticketPromised = true;
        break;
    }
  });
  return ok ? sh : null;
}

export function parseEncryptedExtensions(b: Uint8Array): EncryptedExtensions | null {
  const ext = extensionsBlock(b, 0);
  if (ext === null) return null;
  const ee: EncryptedExtensions = { alpn: null, earlyDataAccepted: false };
  const ok = walkExtensions(b, ext.start, ext.end, (type, d) => {
    if (type === EXT_ALPN) ee.alpn = parseAlpnList(d)[0] ?? null;
    else if (type === EXT_EARLY_DATA) ee.earlyDataAccepted = true;
  });
  return ok ? ee : null;
}

/** TLS 1.2 NewSessionTicket (RFC 5077 §3.3): lifetime_hint(4) ticket<0..2^16-1>. */
export function parseNewSessionTicket12(b: Uint8Array): Uint8Array | null {
  if (b.length < 6) return null;
  const l = u16(b, 4);
  if (6 + l > b.length) return null;
  return b.slice(6, 6 + l);
}

/** Version code to name: 0x0303 -> "TLS 1.2"; TLS 1.3 drafts as "TLS 1.3 (draft N)". */
export function versionName(v: number): string {
  switch (v) {
    case 0x0002: return 'SSL 2.0';
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
  }
  if ((v & 0xff00) === 0x7f00) return `TLS 1.3 (draft ${v & 0xff})`;
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** TLS 1.3 or one of its drafts (0x7f0e..0x7f1c, as the tls13-20 capture uses). */
export function isTls13(v: number): boolean {
  return v === 0x0304 || ((v & 0xff00) === 0x7f00 && (v & 0xff) >= 14);
}

export const ALERT_DESCRIPTIONS: Readonly<Record<number, string>> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed', 22: 'record_overflow',
  30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate', 42: 'bad_certificate',
  43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown',
  47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error',
  60: 'export_restriction', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation', 109: 'missing_extension',
  110: 'unsupported_extension', 111: 'certificate_unobtainable', 112: 'unrecognized_name',
  113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value', 115: 'unknown_psk_identity',
  116: 'certificate_required', 120: 'no_application_protocol', 121: 'ech_required',
};
