/**
 * One TLS connection: a StreamSink for the TCP byte streams that reassembles TLS records,
 * follows the handshake, decrypts with keys from a KeyLog and hands the plaintext on to another
 * StreamSink with the same callbacks (plaintext stream offsets).
 *
 *   TLSPlaintext: type(1) legacy_record_version(2) length(2) fragment[length]   (RFC 8446 §5.1)
 *
 * Records that need a key we do not have yet wait (copied, bounded by `maxPendingBytes`) and are
 * decrypted, in order, when the key arrives (KeyLog.onKey) — keys written after the traffic (live
 * capture, a key file appended later, Decryption Secrets Blocks met later in a pcapng) still work.
 * Every record is authenticated; a wrong key is reported, never turned into garbage plaintext.
 */
import type { ConnInfo, Direction, EndReason, StreamSink } from '../flow/stream.js';
import { RecordDecryptor } from './cipher.js';
import {
  ALERT_DESCRIPTIONS, HS_CLIENT_HELLO, HS_CLIENT_KEY_EXCHANGE, HS_ENCRYPTED_EXTENSIONS, HS_END_OF_EARLY_DATA,
  HS_FINISHED, HS_KEY_UPDATE, HS_NEW_SESSION_TICKET, HS_SERVER_HELLO, HS_SERVER_HELLO_DONE, isTls13,
  parseClientHello, parseEncryptedExtensions, parseNewSessionTicket12, parseServerHello, parseSsl2ClientHello,
  versionName, type ClientHello,
} from './handshake.js';
import { keyBlock, masterFromPreMaster, sessionHash, TLS11, tls13NextSecret, tls13TrafficKeys } from './keyschedule.js';
import { shortRandom, type KeyLog, type Tls13Label } from './keylog.js';
import { suiteInfo, type SuiteInfo } from './suites.js';

const CT_CCS = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const CT_HEARTBEAT = 24;

/** RFC 5246 §6.2.3: ciphertext length at most 2^14 + 2048. */
const MAX_RECORD = 16384 + 2048;
/** Largest handshake message we buffer (certificate chains included). */
const MAX_HANDSHAKE_MESSAGE = 256 * 1024;
const MAX_ALERTS = 64;
/** Renegotiations followed per connection. */
const MAX_HANDSHAKES = 16;

export type NotDecryptedReason =
  | 'no-key'
  | 'unsupported-suite'
  | 'capture-gap'
  | 'auth-failed'
  | 'no-handshake'
  | 'malformed'
  | 'pending-limit';

export interface TlsAlert {
  /** Seconds since the epoch (time of the chunk that completed the record). */
  time: number;
  dir: Direction;
  /** 'warning' | 'fatal'; null when the alert was encrypted and could not be decrypted. */
  level: 'warning' | 'fatal' | null;
  description: string | null;
  code: number | null;
  encrypted: boolean;
}

export interface TlsSessionInfo {
  uid: string;
  /** "TLS 1.2", "TLS 1.3", ...; null until the ServerHello. */
  version: string | null;
  versionCode: number | null;
  cipherSuite: { name: string; code: number } | null;
  sni: string | null;
  alpnOffered: string[];
  alpn: string | null;
  /** ClientHello.random in hex (joins key log lines; not secret). */
  clientRandom: string | null;
  /** Every client random this connection used (renegotiations add more). */
  clientRandoms: string[];
  sessionIdOffered: boolean;
  resumed: boolean;
  resumedBy: 'session-id' | 'ticket' | 'psk' | null;
  helloRetryRequest: boolean;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  earlyData: 'none' | 'offered' | 'accepted' | 'rejected';
  handshakeComplete: boolean;
  /** True when at least one record was decrypted and none failed to authenticate. */
  decrypted: boolean;
  notDecryptedReason: NotDecryptedReason | null;
  /** One line each; safe to print (no secrets, client randoms shortened). */
  problems: string[];
  alerts: TlsAlert[];
  /** Alerts beyond the first 64 (counted, not kept). */
  alertsDropped: number;
  keyUpdates: number;
  recordsFromClient: number;
  recordsFromServer: number;
  recordsDecrypted: number;
  plaintextBytesFromClient: number;
  plaintextBytesFromServer: number;
}

export interface TlsSinkOptions {
  /** Ciphertext bytes a connection may hold while it waits for keys (default 4 MiB). */
  maxPendingBytes?: number;
  /**
   * After both directions ended, how long (seconds) records keep waiting for keys before the
   * connection is given up as 'no-key' (default 0: immediately; live capture sets more).
   */
  keyWaitSeconds?: number;
}

interface Pending {
  type: number;
  version: number;
  body: Uint8Array;
  time: number;
}

type Phase13 = 'early' | 'handshake' | 'app';

class DirState {
  // record reader
  readonly hdr = new Uint8Array(5);
  hdrLen = 0;
  need = 0;
  body: Uint8Array | null = null;
  bodyLen = 0;
  sslv2 = false;
  stopped = false;
  gapped = false;
  /** After a gap: looking for the next record that authenticates (AEAD / explicit-IV CBC). */
  resync = false;
  rbuf: Uint8Array = new Uint8Array(0);
  resyncBase = 0;
  resyncLost = 0;
  resyncMidRecord = false;
  /** Length of a gap between records, until bytes after it show that records were lost (-1: reported). */
  gapLength = -1;
  // handshake reassembly
  hs: Uint8Array = new Uint8Array(0);
  // protection
  encrypted = false;
  dec: RecordDecryptor | null = null;
  pendingDec: RecordDecryptor | null = null;
  phase: Phase13 = 'handshake';
  earlyDec: RecordDecryptor | null = null;
  secret: Uint8Array | null = null;
  nextPhase: Phase13 | null = null;
  keyUpdate = false;
  earlySkipped = 0;
  // waiting for keys
  queue: Pending[] = [];
  failed = false;
  // output
  plainOffset = 0;
  ended: EndReason | null = null;
  endTime = 0;
  endForwarded = false;
  records = 0;
  firstRecord = true;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * TLS decrypting StreamSink. Create with `createTlsSink`, or through `createAppSink` which first
 * checks whether the connection speaks TLS at all.
 */
export class TlsSink implements StreamSink {
  readonly info: TlsSessionInfo;
  private readonly dirs: [DirState, DirState] = [new DirState(), new DirState()];
  private nextSink: StreamSink | null = null;
  private nextCalled = false;
  private ch: ClientHello | null = null;
  private serverRandom: Uint8Array | null = null;
  private serverSessionId = '';
  private suite: SuiteInfo | null = null;
  private versionCode = 0;
  private master: Uint8Array | null = null;
  private rsaPmsPrefix = '';
  private transcript: Uint8Array[] | null = [];
  private transcriptBytes = 0;
  private sessionHashValue: Uint8Array | null = null;
  private serverHelloDone = false;
  private newTicket = '';
  private pendingBytes = 0;
  private readonly unwatch: (() => void)[] = [];
  private finalized = false;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly maxPendingBytes: number;
  private readonly keyWaitSeconds: number;

  constructor(
    readonly conn: ConnInfo,
    private readonly keys: KeyLog,
    private readonly onReady: (info: TlsSessionInfo) => StreamSink | null,
    opts: TlsSinkOptions = {},
  ) {
    this.maxPendingBytes = opts.maxPendingBytes ?? 4 * 1024 * 1024;
    this.keyWaitSeconds = opts.keyWaitSeconds ?? 0;
    this.info = {
      uid: conn.uid, version: null, versionCode: null, cipherSuite: null, sni: null, alpnOffered: [], alpn: null,
      clientRandom: null, clientRandoms: [], sessionIdOffered: false, resumed: false, resumedBy: null,
      helloRetryRequest: false, extendedMasterSecret: false, encryptThenMac: false, earlyData: 'none',
      handshakeComplete: false, decrypted: false, notDecryptedReason: null, problems: [], alerts: [], alertsDropped: 0, keyUpdates: 0,
      recordsFromClient: 0, recordsFromServer: 0, recordsDecrypted: 0, plaintextBytesFromClient: 0,
      plaintextBytesFromServer: 0,
    };
  }

  // ---------------------------------------------------------------- StreamSink

  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, _streamOffset: number, time: number): void {
    const d = this.dirs[dir];
    if (d.resync) {
      this.resyncData(dir, d, bytes, offset, length, time);
      return;
    }
    if (d.gapped && d.gapLength >= 0 && length > 0) {
      this.gapProblem(dir, d.gapLength);
      d.gapLength = -1;
    }
    let off = offset;
    let len = length;
    while (len > 0 && !d.stopped) {
      if (d.hdrLen < 5) {
        const take = Math.min(5 - d.hdrLen, len);
        // At most 5 bytes: copied one by one rather than through a subarray view per record.
        for (let i = 0; i < take; i++) d.hdr[d.hdrLen + i] = bytes[off + i]!;
        d.hdrLen += take;
        off += take;
        len -= take;
        if (d.hdrLen < 5) break;
        if (!this.parseHeader(dir, d)) break;
      }
      if (d.bodyLen === 0 && len >= d.need) {
        const body = bytes.subarray(off, off + d.need);
        off += d.need;
        len -= d.need;
        this.completeRecord(dir, d, body, time);
        continue;
      }
      if (len === 0) break;
      d.body ??= new Uint8Array(d.need);
      const take = Math.min(d.need - d.bodyLen, len);
      d.body.set(bytes.subarray(off, off + take), d.bodyLen);
      d.bodyLen += take;
      off += take;
      len -= take;
      if (d.bodyLen === d.need) {
        const body = d.body;
        d.body = null;
        d.bodyLen = 0;
        this.completeRecord(dir, d, body, time);
      }
    }
  }

  gap(dir: Direction, _streamOffset: number, length: number, time: number): void {
    const d = this.dirs[dir];
    if (d.resync || this.canResync(dir, d)) {
      // Keep going: the next record that authenticates with a nearby sequence number resumes.
      if (!d.resync) {
        d.resyncBase = d.dec!.seq;
        d.resyncMidRecord = d.hdrLen > 0 || d.bodyLen > 0;
      }
      d.resync = true;
      d.resyncLost += length + d.hdrLen + d.bodyLen + d.rbuf.length;
      d.hdrLen = 0;
      d.body = null;
      d.bodyLen = 0;
      d.rbuf = new Uint8Array(0);
      this.forwardGap(dir, length, time);
      return;
    }
    if (d.gapped) return;
    d.gapped = true;
    d.stopped = true;
    // A gap between records loses nothing yet: only bytes after it (which we can no longer frame
    // or decrypt in sequence) do. A gap inside a record loses that record.
    if (d.hdrLen > 0 || d.bodyLen > 0) this.gapProblem(dir, length);
    else d.gapLength = length;
    if (d.queue.length === 0) this.forwardGap(dir, length, time);
    else d.queue.push({ type: -1, version: length, body: new Uint8Array(0), time });
  }

  private canResync(dir: Direction, d: DirState): boolean {
    const s = this.suite;
    if (d.stopped || d.failed || !d.encrypted || d.dec === null || d.queue.length > 0 || s === null) return false;
    if (dir === 0 && d.phase === 'early' && isTls13(this.versionCode)) return false;
    // TLS 1.0 / SSL 3.0 CBC chains the IV through the lost record: no way back in.
    return s.kind === 'aead' || s.kind === 'null' || (s.kind === 'cbc' && this.versionCode >= TLS11);
  }

  private resyncData(dir: Direction, d: DirState, bytes: Uint8Array, offset: number, length: number, time: number): void {
    const buf = new Uint8Array(d.rbuf.length + length);
    buf.set(d.rbuf);
    buf.set(bytes.subarray(offset, offset + length), d.rbuf.length);
    const dec = d.dec!;
    const tries = Math.min(4096, Math.ceil(d.resyncLost / 21) + 16);
    let p = 0;
    for (; p + 5 <= buf.length; p++) {
      const type = buf[p]!;
      if ((type !== CT_APPDATA && type !== CT_ALERT && type !== CT_HANDSHAKE) || buf[p + 1] !== 3 || buf[p + 2]! > 4) continue;
      const len = (buf[p + 3]! << 8) | buf[p + 4]!;
      if (len === 0 || len > MAX_RECORD) continue;
      if (p + 5 + len > buf.length) break; // maybe a record: wait for the rest of it
      const version = (buf[p + 1]! << 8) | buf[p + 2]!;
      const body = buf.subarray(p + 5, p + 5 + len);
      for (let k = 0; k < tries; k++) {
        dec.seq = d.resyncBase + k;
        if (dec.decrypt(type, version, body) === null) continue;
        dec.seq = d.resyncBase + k;
        d.resync = false;
        d.rbuf = new Uint8Array(0);
        this.problem(
          `capture gap of ${d.resyncLost} bytes in the ${dir === 0 ? 'client' : 'server'} stream: ${k} record${k === 1 ? '' : 's'} lost, decryption resumed after it`,
          'capture-gap',
        );
        d.resyncLost = 0;
        this.data(dir, buf, p, buf.length - p, 0, time);
        return;
      }
    }
    d.rbuf = buf.slice(p);
    if (d.rbuf.length > 2 * MAX_RECORD + 64 * 1024) {
      d.resync = false;
      d.stopped = true;
      d.rbuf = new Uint8Array(0);
      this.gapProblem(dir, d.resyncLost);
    }
  }

  private gapProblem(dir: Direction, length: number): void {
    this.problem(`capture gap of ${length} bytes in the ${dir === 0 ? 'client' : 'server'} stream: TLS records after it were not decrypted`, 'capture-gap');
  }

  end(dir: Direction, reason: EndReason, time: number): void {
    const d = this.dirs[dir];
    if (d.ended !== null) return;
    if (d.resync) {
      d.resync = false;
      // A gap after the last complete record with nothing after it (the ACK of a FIN seen
      // without the FIN, a capture cut at the end) lost no TLS data.
      if (d.rbuf.length > 0 || d.resyncMidRecord) this.gapProblem(dir, d.resyncLost);
      d.rbuf = new Uint8Array(0);
    }
    d.ended = reason;
    d.endTime = time;
    this.maybeFinish();
  }

  /** Client randoms (hex) whose keys this connection needed: for exporting only the keys used. */
  get clientRandomsNeeded(): readonly string[] {
    return this.info.clientRandoms;
  }

  /**
   * Gives up waiting for keys now (reports 'no-key' for records still waiting) and ends the
   * plaintext streams that ended. Called automatically when both directions ended.
   */
  finalize(): void {
    if (this.finalized) return;
    // What can be decrypted is, in time order, before the rest is given up.
    this.drain(true, false);
    this.finalized = true;
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    for (const u of this.unwatch) u();
    this.unwatch.length = 0;
    for (const dir of [0, 1] as const) {
      const d = this.dirs[dir];
      if (d.queue.length > 0) {
        for (const p of d.queue) {
          if (p.type === CT_ALERT) this.addAlert({ time: p.time, dir, level: null, description: null, code: null, encrypted: true });
        }
        d.queue = [];
        this.noKeyProblem();
      }
    }
    this.pendingBytes = 0;
    this.callNext();
    for (const dir of [0, 1] as const) {
      const d = this.dirs[dir];
      if (d.ended !== null && !d.endForwarded) {
        d.endForwarded = true;
        this.nextSink?.end(dir, d.ended, d.endTime);
      }
    }
    if (this.ch === null && this.info.notDecryptedReason === null) {
      this.info.notDecryptedReason = 'no-handshake';
      this.info.problems.push('no ClientHello seen (the capture started mid-connection)');
    }
  }

  // ---------------------------------------------------------------- records

  private parseHeader(dir: Direction, d: DirState): boolean {
    const h = d.hdr;
    if (d.firstRecord && dir === 0 && (h[0]! & 0x80) !== 0 && h[2] === 1) {
      // SSL 2.0-compatible ClientHello: 2-byte header, no content type.
      d.sslv2 = true;
      d.need = (((h[0]! & 0x7f) << 8) | h[1]!) - 3;
      if (d.need < 6) return this.malformed(dir, d, 'SSL 2.0 ClientHello too short');
      return true;
    }
    const type = h[0]!;
    const len = (h[3]! << 8) | h[4]!;
    if (type < CT_CCS || type > CT_HEARTBEAT || h[1] !== 3 || len > MAX_RECORD) {
      return this.malformed(dir, d, `not a TLS record header (type ${type}, version 0x${h[1]!.toString(16).padStart(2, '0')}${h[2]!.toString(16).padStart(2, '0')}, length ${len})`);
    }
    d.need = len;
    return true;
  }

  private malformed(dir: Direction, d: DirState, why: string): boolean {
    d.stopped = true;
    this.problem(`${dir === 0 ? 'client' : 'server'} stream: ${why}; TLS parsing stopped`, 'malformed');
    return false;
  }

  private completeRecord(dir: Direction, d: DirState, body: Uint8Array, time: number): void {
    d.hdrLen = 0;
    d.firstRecord = false;
    if (dir === 0) this.info.recordsFromClient++;
    else this.info.recordsFromServer++;
    if (d.sslv2) {
      d.sslv2 = false;
      const full = new Uint8Array(3 + body.length);
      full.set(d.hdr.subarray(2, 5));
      full.set(body, 3);
      const ch = parseSsl2ClientHello(full);
      if (ch === null) this.malformed(dir, d, 'malformed SSL 2.0 ClientHello');
      else this.onClientHello(ch);
      return;
    }
    const type = d.hdr[0]!;
    const version = (d.hdr[1]! << 8) | d.hdr[2]!;
    // Behind anything still waiting (either direction: plaintext must leave in capture order).
    if (d.queue.length > 0 || this.dirs[1 - dir]!.queue.length > 0 || !this.ready(dir, d, type)) {
      this.enqueue(dir, d, { type, version, body: body.slice(), time });
      this.drain();
      return;
    }
    this.processRecord(dir, d, type, version, body, time);
    // What this record taught us (a suite, keys, EncryptedExtensions) may free waiting records.
    if (this.dirs[0].queue.length > 0 || this.dirs[1].queue.length > 0) this.drain();
  }

  private enqueue(dir: Direction, d: DirState, p: Pending): void {
    if (d.failed) return;
    this.pendingBytes += p.body.length;
    if (this.pendingBytes > this.maxPendingBytes) {
      this.problem(`more than ${this.maxPendingBytes} bytes waited for keys (client random ${shortRandom(this.info.clientRandom ?? '')}): gave up`, 'pending-limit');
      for (const x of this.dirs) {
        x.queue = [];
        x.failed = true;
      }
      this.pendingBytes = 0;
      return;
    }
    d.queue.push(p);
  }

  /** Whether a record of `type` can be processed now in `dir` (else it waits). */
  private ready(dir: Direction, d: DirState, type: number): boolean {
    if (d.failed || this.finalized) return true;
    if (type === CT_CCS) return true;
    if (!d.encrypted) {
      // TLS 1.3 0-RTT data follows the ClientHello before the ServerHello tells the suite.
      if (dir === 0 && type === CT_APPDATA && this.serverRandom === null && this.ch !== null) return false;
      return true;
    }
    if (this.suite === null || this.suite.kind === 'unsupported') return true;
    // 0-RTT records wait for EncryptedExtensions to say whether the server accepted them.
    if (isTls13(this.versionCode) && dir === 0 && d.phase === 'early') return d.dec !== null && (this.eeSeen || this.dirs[1].failed);
    return d.dec !== null;
  }

  private draining = false;

  /**
   * Processes waiting records in capture-time order across both directions: the earliest waiting
   * record first, and nothing after it while it cannot be decrypted yet (`relaxed`, when giving up
   * on keys: every record that can be, still in time order). So the plaintext reaches the next
   * stage in the order it was sent even when keys arrive late and one at a time (a key log being
   * followed: with the server's traffic secret read before the client's, the response would
   * otherwise run ahead of its request and HTTP would pair them wrongly). Never re-entered.
   */
  private drain(relaxed = false, finish = true): void {
    if (this.draining) return;
    this.draining = true;
    for (;;) {
      let pick: Direction | -1 = -1;
      for (const dir of [0, 1] as const) {
        const d = this.dirs[dir];
        const p = d.queue[0];
        if (p === undefined) continue;
        if (relaxed && p.type !== -1 && !this.ready(dir, d, p.type)) continue;
        if (pick === -1 || p.time < this.dirs[pick].queue[0]!.time) pick = dir;
      }
      if (pick === -1) break;
      const d = this.dirs[pick];
      const p = d.queue[0]!;
      if (p.type !== -1 && !this.ready(pick, d, p.type)) break;
      d.queue.shift();
      if (p.type === -1) {
        this.forwardGap(pick, p.version, p.time);
        continue;
      }
      this.pendingBytes -= p.body.length;
      this.processRecord(pick, d, p.type, p.version, p.body, p.time);
    }
    this.draining = false;
    if (finish) this.maybeFinish();
  }

  private processRecord(dir: Direction, d: DirState, type: number, version: number, body: Uint8Array, time: number): void {
    if (d.failed) return;
    this.lastTime = time;
    const tls13 = isTls13(this.versionCode);
    if (type === CT_CCS) {
      if (tls13 || this.suite === null) return; // TLS 1.3 middlebox compatibility CCS
      d.encrypted = true;
      d.dec = d.pendingDec;
      d.pendingDec = null;
      if (dir === 1 && !this.serverHelloDone && !this.info.resumed) {
        // Abbreviated handshake: the server's CCS follows its ServerHello directly.
        this.info.resumed = true;
        this.info.resumedBy = this.ch?.ticket !== null && (this.ch?.ticket.length ?? 0) > 0 ? 'ticket' : 'session-id';
        if (this.master === null) this.tryTls12Keys();
        d.dec ??= d.pendingDec;
      }
      return;
    }
    let content = body;
    let contentLength = body.length;
    let ctype = type;
    let wasEncrypted = false;
    if (d.encrypted && !(tls13 && type !== CT_APPDATA)) {
      if (this.suite === null || this.suite.kind === 'unsupported') {
        if (type === CT_ALERT) this.addAlert({ time, dir, level: null, description: null, code: null, encrypted: true });
        return;
      }
      if (this.finalized && d.dec === null) return;
      const r = this.decryptRecord(dir, d, type, version, body);
      if (r === 'skip') return;
      if (r === null) {
        d.failed = true;
        this.problem(`key for client random ${shortRandom(this.info.clientRandom ?? '')} did not authenticate (${dir === 0 ? 'client' : 'server'} record ${d.records + 1})`, 'auth-failed');
        this.info.decrypted = false;
        return;
      }
      d.records++;
      this.info.recordsDecrypted++;
      if (this.info.notDecryptedReason === null) this.info.decrypted = true;
      content = r.data;
      contentLength = r.length;
      ctype = r.type;
      wasEncrypted = true;
    }
    // Application data goes on as (bytes, length); the rarer types get the exact content view.
    if (ctype !== CT_APPDATA && contentLength !== content.length) content = content.subarray(0, contentLength);
    switch (ctype) {
      case CT_HANDSHAKE:
        this.onHandshakeBytes(dir, d, content, time);
        break;
      case CT_ALERT:
        for (let i = 0; i + 1 < content.length; i += 2) {
          const level = content[i] === 1 ? 'warning' : content[i] === 2 ? 'fatal' : null;
          const code = content[i + 1]!;
          this.addAlert({ time, dir, level, description: ALERT_DESCRIPTIONS[code] ?? `alert ${code}`, code, encrypted: wasEncrypted });
        }
        break;
      case CT_APPDATA:
        if (wasEncrypted) this.emit(dir, d, content, contentLength, time);
        break;
    }
    if (d.nextPhase !== null) {
      const ph = d.nextPhase;
      d.nextPhase = null;
      this.enterPhase13(dir, d, ph);
    }
    if (d.keyUpdate) {
      d.keyUpdate = false;
      if (d.secret !== null && this.suite !== null) {
        d.secret = tls13NextSecret(this.suite.prfHash, d.secret);
        d.dec = this.decryptor13(d.secret);
        this.info.keyUpdates++;
      }
    }
  }

  /**
   * Decrypts one record. TLS 1.3 client records in the early phase: with 0-RTT accepted (per
   * EncryptedExtensions) they use the early traffic secret until EndOfEarlyData; otherwise the
   * server skipped them too, so records that do not open with the handshake key are skipped
   * (bounded) until one does.
   */
  private decryptRecord(dir: Direction, d: DirState, type: number, version: number, body: Uint8Array): ReturnType<RecordDecryptor['decrypt']> | 'skip' {
    if (dir === 0 && d.phase === 'early' && isTls13(this.versionCode)) {
      if (this.info.earlyData === 'accepted' && d.earlyDec !== null) return d.earlyDec.decrypt(type, version, body);
      const hsSeq = d.dec!.seq;
      const r = d.dec!.decrypt(type, version, body);
      if (r !== null) {
        d.phase = 'handshake';
        d.earlyDec = null;
        return r;
      }
      d.dec!.seq = hsSeq;
      if (++d.earlySkipped > 64) return null;
      if (this.info.earlyData === 'accepted') {
        this.problem(`no CLIENT_EARLY_TRAFFIC_SECRET for client random ${shortRandom(this.info.clientRandom ?? '')}: 0-RTT data not decrypted`, 'no-key');
        this.forwardGap(dir, Math.max(0, body.length - this.suite!.tagLength - 1), this.lastTime);
      }
      return 'skip';
    }
    return d.dec!.decrypt(type, version, body);
  }

  /** Hands plaintext `data[0, length)` to the next sink. */
  private emit(dir: Direction, d: DirState, data: Uint8Array, length: number, time: number): void {
    if (length === 0) return;
    this.callNext();
    if (dir === 0) this.info.plaintextBytesFromClient += length;
    else this.info.plaintextBytesFromServer += length;
    this.nextSink?.data(dir, data, 0, length, d.plainOffset, time);
    d.plainOffset += length;
  }

  private forwardGap(dir: Direction, length: number, time: number): void {
    const d = this.dirs[dir];
    if (!this.nextCalled || this.nextSink === null) return;
    this.nextSink.gap(dir, d.plainOffset, length, time);
    d.plainOffset += length;
  }

  private callNext(): void {
    if (this.nextCalled) return;
    this.nextCalled = true;
    this.nextSink = this.onReady(this.info);
  }

  private maybeFinish(): void {
    const [c, s] = this.dirs;
    for (const dir of [0, 1] as const) {
      const d = this.dirs[dir];
      if (d.ended !== null && !d.endForwarded && d.queue.length === 0 && this.nextCalled) {
        d.endForwarded = true;
        this.nextSink?.end(dir, d.ended, d.endTime);
      }
    }
    if (this.finalized || c.ended === null || s.ended === null) return;
    if (c.queue.length === 0 && s.queue.length === 0) {
      this.finalize();
      return;
    }
    if (this.keyWaitSeconds <= 0) this.finalize();
    else if (this.waitTimer === null) {
      this.waitTimer = setTimeout(() => this.finalize(), this.keyWaitSeconds * 1000);
      this.waitTimer.unref?.();
    }
  }

  /** Alerts kept per connection (a hostile peer could send thousands); the rest are counted. */
  private addAlert(a: TlsAlert): void {
    if (this.info.alerts.length < MAX_ALERTS) this.info.alerts.push(a);
    else this.info.alertsDropped++;
  }

  private problem(message: string, reason: NotDecryptedReason): void {
    if (this.info.problems.length < 20 && !this.info.problems.includes(message)) this.info.problems.push(message);
    if (this.info.notDecryptedReason === null || this.info.notDecryptedReason === 'no-key') this.info.notDecryptedReason = reason;
    if (reason === 'auth-failed') this.info.decrypted = false;
  }

  private noKeyProblem(): void {
    const cr = this.info.clientRandom;
    this.problem(cr === null ? 'no key' : `no key for client random ${shortRandom(cr)}`, 'no-key');
  }

  // ---------------------------------------------------------------- handshake

  private onHandshakeBytes(dir: Direction, d: DirState, bytes: Uint8Array, time: number): void {
    let buf: Uint8Array;
    if (d.hs.length === 0) buf = bytes;
    else {
      buf = new Uint8Array(d.hs.length + bytes.length);
      buf.set(d.hs);
      buf.set(bytes, d.hs.length);
    }
    let o = 0;
    while (buf.length - o >= 4) {
      const len = (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
      if (len > MAX_HANDSHAKE_MESSAGE) {
        this.malformed(dir, d, `handshake message of ${len} bytes exceeds the ${MAX_HANDSHAKE_MESSAGE}-byte limit`);
        d.hs = new Uint8Array(0);
        return;
      }
      if (buf.length - o < 4 + len) break;
      this.onHandshakeMessage(dir, d, buf[o]!, buf.subarray(o + 4, o + 4 + len), buf.subarray(o, o + 4 + len), time);
      o += 4 + len;
    }
    d.hs = o === buf.length ? new Uint8Array(0) : buf.slice(o);
  }

  private onHandshakeMessage(dir: Direction, d: DirState, type: number, body: Uint8Array, whole: Uint8Array, _time: number): void {
    if (this.transcript !== null && !isTls13(this.versionCode)) {
      this.transcriptBytes += whole.length;
      if (this.transcriptBytes > 1024 * 1024) this.transcript = null;
      else this.transcript.push(whole.slice());
    }
    const tls13 = isTls13(this.versionCode);
    if (dir === 0) {
      if (type === HS_CLIENT_HELLO) {
        const ch = parseClientHello(body);
        if (ch === null) this.problem('malformed ClientHello', 'malformed');
        else this.onClientHello(ch);
      } else if (type === HS_CLIENT_KEY_EXCHANGE && !tls13) {
        // RSA: EncryptedPreMasterSecret, with a 2-byte length (SSL 3.0 omits it by the spec, but
        // implementations differ: strip it whenever it matches, as Wireshark does).
        const enc = body.length >= 2 && ((body[0]! << 8) | body[1]!) === body.length - 2 ? body.subarray(2) : body;
        if (enc.length >= 8) this.rsaPmsPrefix = hex(enc.subarray(0, 8));
        if (this.transcript !== null && this.info.extendedMasterSecret) {
          this.sessionHashValue = sessionHash(this.versionCode, this.suite?.prfHash ?? 'sha256', Buffer.concat(this.transcript));
        }
        this.transcript = null;
        if (this.master === null) this.tryTls12Keys();
      } else if (type === HS_FINISHED) {
        if (tls13) d.nextPhase = 'app';
        else this.checkHandshakeComplete();
      } else if (type === HS_END_OF_EARLY_DATA && tls13) {
        d.nextPhase = 'handshake';
      } else if (type === HS_KEY_UPDATE && tls13) {
        d.keyUpdate = true;
      }
      return;
    }
    switch (type) {
      case HS_SERVER_HELLO: {
        const sh = parseServerHello(body);
        if (sh === null) {
          this.problem('malformed ServerHello', 'malformed');
          return;
        }
        this.onServerHello(sh);
        break;
      }
      case HS_SERVER_HELLO_DONE:
        this.serverHelloDone = true;
        break;
      case HS_NEW_SESSION_TICKET:
        if (!tls13) {
          const t = parseNewSessionTicket12(body);
          if (t !== null) this.newTicket = hex(t);
        }
        break;
      case HS_ENCRYPTED_EXTENSIONS: {
        this.eeSeen = true;
        const ee = parseEncryptedExtensions(body);
        if (ee !== null) {
          this.info.alpn = ee.alpn;
          if (this.ch?.earlyData) this.info.earlyData = ee.earlyDataAccepted ? 'accepted' : 'rejected';
        }
        this.callNext();
        break;
      }
      case HS_FINISHED:
        if (tls13) {
          d.nextPhase = 'app';
          this.info.handshakeComplete = true;
        } else this.checkHandshakeComplete();
        break;
      case HS_KEY_UPDATE:
        if (tls13) d.keyUpdate = true;
        break;
    }
  }

  private finishedCount = 0;
  private eeSeen = false;
  private lastTime = 0;

  private checkHandshakeComplete(): void {
    this.finishedCount++;
    if (this.finishedCount >= 2) {
      this.info.handshakeComplete = true;
      if (this.master !== null && this.info.decrypted) {
        this.keys.learnSession(this.serverSessionId, this.newTicket, this.master);
      }
    }
  }

  private onClientHello(ch: ClientHello): void {
    const renegotiation = this.ch !== null && this.serverRandom !== null && !this.info.helloRetryRequest;
    if (renegotiation && this.info.clientRandoms.length >= MAX_HANDSHAKES) {
      this.problem(`more than ${MAX_HANDSHAKES} renegotiations: later handshakes not followed`, 'malformed');
      return;
    }
    this.ch = ch;
    const cr = hex(ch.random);
    this.info.clientRandom = cr;
    if (!this.info.clientRandoms.includes(cr)) {
      this.info.clientRandoms.push(cr);
      if (!this.finalized) {
        this.unwatch.push(this.keys.watch(cr, (k) => {
          if (k === this.info.clientRandom) this.keysChanged();
        }));
      }
    }
    this.info.sni = ch.sni ?? this.info.sni;
    this.info.alpnOffered = ch.alpn;
    this.info.sessionIdOffered = ch.sessionId.length > 0;
    if (ch.earlyData && this.info.earlyData === 'none') this.info.earlyData = 'offered';
    if (renegotiation) {
      // A new handshake inside the encrypted session: new keys take effect at each side's CCS.
      this.serverRandom = null;
      this.master = null;
      this.serverHelloDone = false;
      this.finishedCount = 0;
      this.info.handshakeComplete = false;
      this.transcript = [];
      this.transcriptBytes = 0;
      this.sessionHashValue = null;
      this.rsaPmsPrefix = '';
    }
  }

  private onServerHello(sh: ServerHello2): void {
    if (sh.helloRetryRequest) {
      this.info.helloRetryRequest = true;
      this.info.earlyData = this.info.earlyData === 'offered' ? 'rejected' : this.info.earlyData;
      this.setSuite(sh.cipherSuite, sh.version);
      return;
    }
    this.serverRandom = sh.random;
    this.serverSessionId = hex(sh.sessionId);
    this.setSuite(sh.cipherSuite, sh.version);
    this.info.extendedMasterSecret = sh.extendedMasterSecret;
    this.info.encryptThenMac = sh.encryptThenMac && this.suite?.kind === 'cbc';
    const tls13 = isTls13(sh.version);
    if (tls13) {
      this.transcript = null;
      if (sh.pskAccepted) {
        this.info.resumed = true;
        this.info.resumedBy = 'psk';
      }
      const [c, s] = this.dirs;
      s.encrypted = true;
      s.phase = 'handshake';
      c.encrypted = true;
      c.phase = this.ch?.earlyData ? 'early' : 'handshake';
      this.install13();
    } else {
      this.info.alpn = sh.alpn;
      if (this.ch !== null && this.ch.sessionId.length > 0 && hex(this.ch.sessionId) === this.serverSessionId) {
        this.info.resumed = true;
        this.info.resumedBy = this.ch.ticket !== null && this.ch.ticket.length > 0 ? 'ticket' : 'session-id';
      }
      if (!this.info.extendedMasterSecret) this.transcript = null;
      this.tryTls12Keys();
      this.callNext();
    }
    this.drain();
  }

  private setSuite(code: number, version: number): void {
    this.versionCode = version;
    this.suite = suiteInfo(code);
    this.info.version = versionName(version);
    this.info.versionCode = version;
    this.info.cipherSuite = { name: this.suite.name, code };
    if (this.suite.kind === 'unsupported') this.problem(`cipher suite ${this.suite.name} cannot be decrypted: ${this.suite.unsupportedReason}`, 'unsupported-suite');
  }

  // ---------------------------------------------------------------- keys

  private keysChanged(): void {
    if (this.finalized) return;
    if (isTls13(this.versionCode)) this.install13();
    else if (this.master === null) this.tryTls12Keys();
    this.drain();
  }

  /** TLS <= 1.2: finds the master secret and prepares both directions' decryptors. */
  private tryTls12Keys(): void {
    const ch = this.ch;
    const suite = this.suite;
    if (ch === null || this.serverRandom === null || suite === null || suite.kind === 'unsupported') return;
    const cr = hex(ch.random);
    const s = this.keys.get(cr);
    let master: Uint8Array | null = s?.masterSecret ?? null;
    const v = this.versionCode;
    if (master === null && s?.preMasterSecret) {
      master = masterFromPreMaster(v, suite.prfHash, s.preMasterSecret, ch.random, this.serverRandom, this.info.extendedMasterSecret ? this.sessionHashValue : null);
    }
    if (master === null && this.rsaPmsPrefix !== '') {
      const pms = this.keys.rsaPreMaster(this.rsaPmsPrefix);
      if (pms !== undefined && (!this.info.extendedMasterSecret || this.sessionHashValue !== null)) {
        master = masterFromPreMaster(v, suite.prfHash, pms, ch.random, this.serverRandom, this.info.extendedMasterSecret ? this.sessionHashValue : null);
      }
    }
    if (master === null && this.info.resumed) {
      master = (ch.ticket !== null ? this.keys.masterByTicket(hex(ch.ticket)) : undefined) ?? this.keys.masterBySessionId(this.serverSessionId) ?? null;
    }
    if (master === null) return;
    this.master = master;
    const macLen = suite.macLength;
    const keyLen = suite.keyLength;
    const ivLen = suite.kind === 'cbc' ? (v < TLS11 ? suite.fixedIvLength : 0) : suite.kind === 'aead' ? suite.fixedIvLength : 0;
    const kb = keyBlock(v, suite.prfHash, master, ch.random, this.serverRandom, 2 * (macLen + keyLen + ivLen));
    let o = 0;
    const take = (n: number): Uint8Array => kb.subarray(o, (o += n));
    const cMac = take(macLen);
    const sMac = take(macLen);
    const cKey = take(keyLen);
    const sKey = take(keyLen);
    const cIv = take(ivLen);
    const sIv = take(ivLen);
    const etm = this.info.encryptThenMac;
    const [c, s2] = this.dirs;
    const cDec = new RecordDecryptor(suite, v, cKey, cIv, cMac, etm);
    const sDec = new RecordDecryptor(suite, v, sKey, sIv, sMac, etm);
    // A direction that already switched (CCS seen) uses the new keys at once; else at its CCS.
    if (c.encrypted && c.dec === null && c.pendingDec === null) c.dec = cDec;
    else c.pendingDec = cDec;
    if (s2.encrypted && s2.dec === null && s2.pendingDec === null) s2.dec = sDec;
    else s2.pendingDec = sDec;
  }

  private decryptor13(secret: Uint8Array): RecordDecryptor {
    const suite = this.suite!;
    const { key, iv } = tls13TrafficKeys(suite.prfHash, secret, suite.keyLength, 12);
    return new RecordDecryptor(suite, this.versionCode, key, iv, new Uint8Array(0));
  }

  private secret13(label: Tls13Label): Uint8Array | null {
    const cr = this.info.clientRandom;
    if (cr === null) return null;
    return this.keys.get(cr)?.tls13[label] ?? null;
  }

  /** Installs TLS 1.3 decryptors for each direction's current phase when the secrets are known. */
  private install13(): void {
    if (this.suite === null || this.suite.kind === 'unsupported') return;
    const [c, s] = this.dirs;
    if (s.dec === null) {
      const sec = this.secret13(s.phase === 'app' ? 'SERVER_TRAFFIC_SECRET_0' : 'SERVER_HANDSHAKE_TRAFFIC_SECRET');
      if (sec !== null) {
        s.secret = sec;
        s.dec = this.decryptor13(sec);
      }
    }
    if (c.dec === null) {
      const sec = this.secret13(c.phase === 'app' ? 'CLIENT_TRAFFIC_SECRET_0' : 'CLIENT_HANDSHAKE_TRAFFIC_SECRET');
      if (sec !== null) {
        c.secret = sec;
        c.dec = this.decryptor13(sec);
      }
    }
    if (c.phase === 'early' && c.earlyDec === null) {
      const sec = this.secret13('CLIENT_EARLY_TRAFFIC_SECRET');
      if (sec !== null) c.earlyDec = this.decryptor13(sec);
    }
  }

  private enterPhase13(dir: Direction, d: DirState, phase: Phase13): void {
    d.phase = phase;
    d.dec = null;
    d.secret = null;
    if (phase !== 'early') d.earlyDec = null;
    this.install13();
    void dir;
  }
}

type ServerHello2 = NonNullable<ReturnType<typeof parseServerHello>>;

/** A TLS decrypting sink for a connection already known to be TLS. */
export function createTlsSink(
  conn: ConnInfo,
  keys: KeyLog,
  onReady: (info: TlsSessionInfo) => StreamSink | null,
  opts?: TlsSinkOptions,
): TlsSink {
  return new TlsSink(conn, keys, onReady, opts);
}
