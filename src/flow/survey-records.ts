/**
 * The survey's ended connections (flow/survey.ts), kept until the analysis is done with them:
 * one fixed-size row per connection in chunks of two typed arrays (doubles and 32-bit integers),
 * addresses and capture points interned, SYN times (but a lone one at the start time, as most
 * connections have) and silences in one shared pool. A row is 244 bytes (its uid included); as
 * objects (a connection and its two endpoints, their fields holding boxed numbers) it was about
 * 1.2 KB.
 *
 * Rows are numbered in the order the connections ended (the FlowTable's onConnectionEnd order):
 * a row number is the connection's end order. Readers take a row number (`at`-style accessors);
 * nothing is allocated to read a number.
 *
 * Memory that does not grow with the capture: a chunk is written to a temporary file (opened and
 * unlinked at once, so nothing is left behind however the process ends) when it is full, and
 * only the chunk being filled and the last RESIDENT_CHUNKS chunks read stay in memory; a row of
 * another chunk is read back (one read of the chunk) when asked. Readers go through the rows in
 * order (implication, the replay) or a few at a time; the second pass, which reads the rows of
 * the connections it dissects at every packet, pins their chunks (`pin`). The uid is kept in the
 * row as its three words (flow/identity.ts) and made again when asked; rowOf searches the
 * words, also kept in memory (12 bytes a row). Where no temporary file can be written, every chunk
 * stays in memory.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipv4ToString } from '../wire/ipv4.js';
import { addr6Text } from './addr6.js';
import { uidOfWords, uidWords } from './identity.js';
import type { EndCause } from './record.js';
import type { TcpSegment } from './segment.js';

/** Rows per chunk (1 Ki rows: 19 doubles + 23 integers a row, 244 KiB a chunk). */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Full chunks kept in memory (besides the one being filled and pinned ones); the others are read back from the spill file. */
const RESIDENT_CHUNKS = 2;

// Doubles of a row.
const F_START = 0;
const F_LAST = 1;
const F_SYNACK = 2;
const F_MAXIDLE = 3;
/** Per direction (client + 0, server + 7): payload bytes, FIN time, silence before it, first and last new payload. */
const F_DIR = 4;
const D_BYTES = 0;
const D_FIN = 1;
const D_FIN_IDLE = 2;
const D_FIRST_PAY = 3;
const D_LAST_PAY = 4;
const F_DIR_SIZE = 5;
const F_FIRST_PACKET = 14;
const F_LAST_PACKET = 15;
const F_END_PACKET = 16;
const F_FIRST_OFFSET = 17;
const F_LAST_OFFSET = 18;
const NF = 19;

// Integers of a row.
const I_KEY = 0;
const I_CLIENT = 1;
const I_SERVER = 2;
const I_PORTS = 3;
/** Per direction (client + 0, server + 3): packets, SYNs, ISN. */
const I_DIR = 4;
const E_PACKETS = 0;
const E_SYNS = 1;
const E_ISN = 2;
const I_DIR_SIZE = 3;
const I_FLAGS = 10;
const I_COMPLEX = 11;
const I_POINT = 12;
const I_PREV = 13;
const I_INPUTS = 14;
/** Where the row's SYN times and silences start in the pool, and how many of each. */
const I_EXTRA = 15;
const I_NSYN = 16;
const I_NGAPS = 17;
/** IPv6: where the address pair's eight words are in the v6 pool (-1: IPv4). */
const I_A6 = 18;
const I_TAG = 19;
/** The uid's three words (connectionUid's form; FL_UID_TEXT: kept as text in `uidTexts` instead). */
const I_UID = 20;
const NI = 23;
const F_BYTES = CHUNK * NF * 8;
const I_BYTES = CHUNK * NI * 4;

// I_FLAGS bits.
const FL_MIDSTREAM = 1;
const FL_REFUSED = 2;
const FL_CFIN = 4;
const FL_SFIN = 8;
/** closedBy + 1 (0: not closed, 1 client, 2 server) at bit 4, closeHow (0 none, 1 fin, 2 rst) at bit 6. */
const FL_CLOSED_BY_SHIFT = 4;
const FL_CLOSE_HOW_SHIFT = 6;
const FL_END_CAUSE_SHIFT = 8;
const FL_END_PHASE_SHIFT = 12;
const FL_UID_TEXT = 1 << 15;
/** One SYN, at the start time (most connections): not in the pool. */
const FL_SYN_AT_START = 1 << 16;

/** End causes by their number in a row's flags (the C survey's rows number them alike). */
export const END_CAUSES: readonly EndCause[] = ['closed', 'timeout', 'capture-end', 'evicted', 'port-reuse'];
const CLOSE_HOWS = [null, 'fin', 'rst'] as const;

/** What a row is written from: the survey's connection at its end (flow/survey.ts SurveyConn). */
export interface SurveyRowSource {
  readonly uid: string;
  readonly capturePoint: string;
  readonly keyHash: number;
  readonly ipVersion: 4 | 6;
  readonly cA4: number;
  readonly sA4: number;
  readonly a6: Int32Array | null;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly startTime: number;
  readonly lastTime: number;
  readonly synAckTime: number;
  readonly synTimes: number[];
  readonly maxIdle: number;
  readonly idleGaps: number[] | null;
  readonly midstream: boolean;
  readonly refused: boolean;
  readonly closedBy: number;
  readonly closeHow: 'fin' | 'rst' | null;
  readonly complex: number;
  readonly endCause: EndCause | null;
  readonly endPacket: number;
  readonly endPhase: number;
  readonly tag: number;
  readonly firstPacket: number;
  readonly firstInput: number;
  readonly firstOffset: number;
  readonly lastPacket: number;
  readonly lastInput: number;
  readonly lastOffset: number;
  readonly c: SurveyRowEndpoint;
  readonly s: SurveyRowEndpoint;
}

export interface SurveyRowEndpoint {
  readonly packets: number;
  readonly payloadBytes: number;
  readonly synCount: number;
  readonly isn: number;
  readonly finSeen: boolean;
  readonly finTime: number;
  readonly finIdle: number;
  readonly firstPayloadTime: number;
  readonly lastPayloadTime: number;
}

/** A growable Float64Array / Int32Array (doubling). */
class F64Pool {
  a = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
}

/** Closes a spill file once its records are gone (library callers run many analyses in one process). */
const spillFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // (Already closed.)
  }
});

export class SurveyRecords {
  /** Chunks by index; null: on disk only (see the module comment). */
  private readonly f64: (Float64Array | null)[] = [];
  private readonly i32: (Int32Array | null)[] = [];
  /** Full chunks in memory, oldest first; pinned ones are not dropped. */
  private resident: number[] = [];
  private readonly pinned = new Set<number>();
  /** The spill file: -1 not opened yet, -2 none can be (every chunk stays in memory). */
  private fd = -1;
  private writeFailed = false;
  private readonly residentChunks: number;
  /** Uids not in connectionUid's form, by row. */
  private readonly uidTexts = new Map<number, string>();
  /** Each row's uid words (three a row, for rowOf), and rows sorted by the first (built when asked). */
  private uidWords = new Int32Array(3 * 1024);
  private byUidFirst: Int32Array | null = null;
  private readonly words = new Int32Array(3);
  private n = 0;
  /** Interned address texts, by id; ids by IPv4 address (as unsigned) and by IPv6 text. */
  private readonly addrs: string[] = [];
  /** The IPv4 address of each id (as the segment's src4/dst4; 0 for IPv6 ids). */
  private readonly v4Of: number[] = [];
  private readonly v4Ids = new Map<number, number>();
  private readonly v6Ids = new Map<string, number>();
  private readonly points: string[] = [];
  private readonly pointIds = new Map<string, number>();
  private readonly extra = new F64Pool();
  private a6 = new Int32Array(0);
  private a6n = 0;
  private idsByText: Map<string, number> | null = null;

  /** `residentChunks`: full chunks kept in memory (Infinity: never spilled). */
  constructor(opts: { residentChunks?: number } = {}) {
    this.residentChunks = Math.max(1, opts.residentChunks ?? RESIDENT_CHUNKS);
  }

  /** Rows (ended connections). */
  get size(): number {
    return this.n;
  }

  /** Distinct addresses (ids 0 .. addrCount - 1). */
  get addrCount(): number {
    return this.addrs.length;
  }

  /** The text of address id `id`. */
  addrText(id: number): string {
    return this.addrs[id]!;
  }

  /** The id of an IPv4 address given as an unsigned 32-bit number (-1: no connection has it). */
  v4AddrId(addr: number): number {
    return this.v4Ids.get(addr) ?? -1;
  }

  /** The id of an address given as text (-1: no connection has it). */
  addrId(text: string): number {
    if (this.idsByText === null || this.idsByText.size !== this.addrs.length) {
      this.idsByText = new Map();
      for (let i = 0; i < this.addrs.length; i++) this.idsByText.set(this.addrs[i]!, i);
    }
    return this.idsByText.get(text) ?? -1;
  }

  /** Appends an ended connection; returns its row. `prev`: the row of the connection it replaced (-1: none). */
  add(c: SurveyRowSource, prev: number): number {
    const row = this.n++;
    if ((row & CHUNK_MASK) === 0) {
      if (row > 0) this.sealed((row >>> CHUNK_BITS) - 1);
      const [f, i] = this.freeArrays();
      this.f64.push(f);
      this.i32.push(i);
    }
    const F = this.f64[row >>> CHUNK_BITS]!;
    const I = this.i32[row >>> CHUNK_BITS]!;
    const f = (row & CHUNK_MASK) * NF;
    const i = (row & CHUNK_MASK) * NI;
    this.byUidFirst = null;
    if (3 * row === this.uidWords.length) {
      const b = new Int32Array(row * 6);
      b.set(this.uidWords);
      this.uidWords = b;
    }
    const w = this.words;
    const textUid = !uidWords(c.uid, w);
    if (textUid) {
      w.fill(0);
      this.uidTexts.set(row, c.uid);
    }
    I[i + I_UID] = w[0]!;
    I[i + I_UID + 1] = w[1]!;
    I[i + I_UID + 2] = w[2]!;
    this.uidWords.set(w, 3 * row);
    F[f + F_START] = c.startTime;
    F[f + F_LAST] = c.lastTime;
    F[f + F_SYNACK] = c.synAckTime;
    F[f + F_MAXIDLE] = c.maxIdle;
    for (let d = 0; d < 2; d++) {
      const e = d === 0 ? c.c : c.s;
      const fd = f + F_DIR + d * F_DIR_SIZE;
      F[fd + D_BYTES] = e.payloadBytes;
      F[fd + D_FIN] = e.finTime;
      F[fd + D_FIN_IDLE] = e.finIdle;
      F[fd + D_FIRST_PAY] = e.firstPayloadTime;
      F[fd + D_LAST_PAY] = e.lastPayloadTime;
      const id = i + I_DIR + d * I_DIR_SIZE;
      I[id + E_PACKETS] = e.packets;
      I[id + E_SYNS] = e.synCount;
      I[id + E_ISN] = e.isn;
    }
    F[f + F_FIRST_PACKET] = c.firstPacket;
    F[f + F_LAST_PACKET] = c.lastPacket;
    F[f + F_END_PACKET] = c.endPacket;
    F[f + F_FIRST_OFFSET] = c.firstOffset;
    F[f + F_LAST_OFFSET] = c.lastOffset;
    I[i + I_KEY] = c.keyHash;
    if (c.ipVersion === 4) {
      I[i + I_CLIENT] = this.v4Id(c.cA4);
      I[i + I_SERVER] = this.v4Id(c.sA4);
      I[i + I_A6] = -1;
    } else {
      const a = c.a6!;
      I[i + I_CLIENT] = this.v6Id(a, 0);
      I[i + I_SERVER] = this.v6Id(a, 4);
      if (this.a6n + 8 > this.a6.length) {
        const b = new Int32Array(Math.max(64, this.a6.length * 2));
        b.set(this.a6);
        this.a6 = b;
      }
      this.a6.set(a, this.a6n);
      I[i + I_A6] = this.a6n;
      this.a6n += 8;
    }
    I[i + I_PORTS] = (c.clientPort << 16) | c.serverPort;
    const cause = c.endCause === null ? 0 : END_CAUSES.indexOf(c.endCause);
    const synAtStart = c.synTimes.length === 1 && c.synTimes[0] === c.startTime;
    I[i + I_FLAGS] =
      (c.midstream ? FL_MIDSTREAM : 0) |
      (c.refused ? FL_REFUSED : 0) |
      (c.c.finSeen ? FL_CFIN : 0) |
      (c.s.finSeen ? FL_SFIN : 0) |
      ((c.closedBy + 1) << FL_CLOSED_BY_SHIFT) |
      ((c.closeHow === null ? 0 : c.closeHow === 'fin' ? 1 : 2) << FL_CLOSE_HOW_SHIFT) |
      (cause << FL_END_CAUSE_SHIFT) |
      (c.endPhase << FL_END_PHASE_SHIFT) |
      (textUid ? FL_UID_TEXT : 0) |
      (synAtStart ? FL_SYN_AT_START : 0);
    I[i + I_COMPLEX] = c.complex;
    I[i + I_POINT] = this.pointId(c.capturePoint);
    I[i + I_PREV] = prev;
    I[i + I_INPUTS] = (c.firstInput << 16) | (c.lastInput & 0xffff);
    I[i + I_EXTRA] = this.extra.n;
    I[i + I_NSYN] = c.synTimes.length;
    if (!synAtStart) for (const t of c.synTimes) this.extra.push(t);
    const g = c.idleGaps;
    I[i + I_NGAPS] = g === null ? 0 : (g.length / 3) | 0;
    if (g !== null) for (let k = 0; k < g.length; k++) this.extra.push(g[k]!);
    I[i + I_TAG] = c.tag;
    return row;
  }

  private v4Id(a: number): number {
    const k = a >>> 0;
    let id = this.v4Ids.get(k);
    if (id === undefined) {
      id = this.addrs.length;
      this.addrs.push(ipv4ToString(a));
      this.v4Of.push(a);
      this.v4Ids.set(k, id);
    }
    return id;
  }

  private v6Id(a: Int32Array, w: number): number {
    const t = addr6Text(a, w);
    let id = this.v6Ids.get(t);
    if (id === undefined) {
      id = this.addrs.length;
      this.addrs.push(t);
      this.v4Of.push(0);
      this.v6Ids.set(t, id);
    }
    return id;
  }

  private pointId(p: string): number {
    let id = this.pointIds.get(p);
    if (id === undefined) {
      id = this.points.length;
      this.points.push(p);
      this.pointIds.set(p, id);
    }
    return id;
  }

  private fv(row: number, field: number): number {
    const F = this.f64[row >>> CHUNK_BITS] ?? this.load(row >>> CHUNK_BITS).f;
    return F[(row & CHUNK_MASK) * NF + field]!;
  }

  private iv(row: number, field: number): number {
    const I = this.i32[row >>> CHUNK_BITS] ?? this.load(row >>> CHUNK_BITS).i;
    return I[(row & CHUNK_MASK) * NI + field]!;
  }

  /** Chunks in memory (the one being filled included), for tests. */
  get chunksInMemory(): number {
    let k = 0;
    for (const F of this.f64) if (F !== null) k++;
    return k;
  }

  /**
   * Keeps the chunks of these rows in memory until unpin() (a pass that reads them at every
   * packet); the rows' chunks are loaded now.
   */
  pin(rows: readonly number[]): void {
    for (const row of rows) {
      const c = row >>> CHUNK_BITS;
      if (this.pinned.has(c)) continue;
      this.pinned.add(c);
      if (this.f64[c] === null) this.load(c);
    }
  }

  unpin(): void {
    this.pinned.clear();
    this.trim();
  }

  /** A full chunk: written to the spill file, then one of the resident ones. */
  private sealed(c: number): void {
    if (this.residentChunks === Infinity) return;
    if (this.fd === -1) this.openSpill();
    if (this.fd < 0 || this.writeFailed) return;
    const F = this.f64[c]!;
    const I = this.i32[c]!;
    const at = c * (F_BYTES + I_BYTES);
    try {
      writeSync(this.fd, new Uint8Array(F.buffer, F.byteOffset, F_BYTES), 0, F_BYTES, at);
      writeSync(this.fd, new Uint8Array(I.buffer, I.byteOffset, I_BYTES), 0, I_BYTES, at + F_BYTES);
    } catch {
      // (A full disk: this chunk and the next stay in memory; those written can still be read.)
      this.writeFailed = true;
      return;
    }
    this.resident.push(c);
    this.trim();
  }

  private openSpill(): void {
    const path = join(tmpdir(), `mirrorlens-survey-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      this.fd = openSync(path, 'wx+', 0o600);
    } catch {
      this.fd = -2;
      return;
    }
    try {
      unlinkSync(path);
    } catch {
      // (Left for the system's temporary-file cleaning; it holds connection facts, no secrets.)
    }
    spillFiles.register(this, this.fd);
  }

  /** Drops the oldest unpinned resident chunks beyond the budget (their arrays kept for reuse). */
  private trim(): void {
    while (this.resident.length > this.residentChunks) {
      const k = this.resident.findIndex((c) => !this.pinned.has(c));
      if (k < 0) return;
      const c = this.resident[k]!;
      this.resident.splice(k, 1);
      this.spare = [this.f64[c]!, this.i32[c]!];
      this.f64[c] = null;
      this.i32[c] = null;
    }
  }

  private spare: [Float64Array, Int32Array] | null = null;

  private freeArrays(): [Float64Array, Int32Array] {
    const s = this.spare;
    if (s !== null) {
      this.spare = null;
      return s;
    }
    return [new Float64Array(CHUNK * NF), new Int32Array(CHUNK * NI)];
  }

  /** Reads chunk `c` back from the spill file. */
  private load(c: number): { f: Float64Array; i: Int32Array } {
    const [F, I] = this.freeArrays();
    const at = c * (F_BYTES + I_BYTES);
    readSync(this.fd, new Uint8Array(F.buffer, F.byteOffset, F_BYTES), 0, F_BYTES, at);
    readSync(this.fd, new Uint8Array(I.buffer, I.byteOffset, I_BYTES), 0, I_BYTES, at + F_BYTES);
    this.f64[c] = F;
    this.i32[c] = I;
    this.resident.push(c);
    this.trim();
    return { f: F, i: I };
  }

  /** The row of the connection with this uid (-1: none). */
  rowOf(uid: string): number {
    const w = this.words;
    if (!uidWords(uid, w)) {
      for (const [row, t] of this.uidTexts) if (t === uid) return row;
      return -1;
    }
    const words = this.uidWords;
    if (this.byUidFirst === null) {
      const idx = new Int32Array(this.n);
      for (let r = 0; r < this.n; r++) idx[r] = r;
      this.byUidFirst = idx.sort((a, b) => words[3 * a]! - words[3 * b]! || a - b);
    }
    const s = this.byUidFirst;
    const w0 = w[0]!;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (words[3 * s[mid]!]! < w0) lo = mid + 1;
      else hi = mid;
    }
    const w1 = w[1]!;
    const w2 = w[2]!;
    for (let k = lo; k < s.length && words[3 * s[k]!] === w0; k++) {
      const row = s[k]!;
      if (words[3 * row + 1] === w1 && words[3 * row + 2] === w2 && !this.uidTexts.has(row)) return row;
    }
    return -1;
  }

  uid(row: number): string {
    if ((this.iv(row, I_FLAGS) & FL_UID_TEXT) !== 0) return this.uidTexts.get(row)!;
    return uidOfWords(this.iv(row, I_UID), this.iv(row, I_UID + 1), this.iv(row, I_UID + 2));
  }
  capturePoint(row: number): string {
    return this.points[this.iv(row, I_POINT)]!;
  }
  keyHash(row: number): number {
    return this.iv(row, I_KEY);
  }
  ipVersion(row: number): 4 | 6 {
    return this.iv(row, I_A6) < 0 ? 4 : 6;
  }
  /** Address ids (addrText): the same address has the same id in every row. */
  clientAddrId(row: number): number {
    return this.iv(row, I_CLIENT);
  }
  serverAddrId(row: number): number {
    return this.iv(row, I_SERVER);
  }
  clientAddr(row: number): string {
    return this.addrs[this.iv(row, I_CLIENT)]!;
  }
  serverAddr(row: number): string {
    return this.addrs[this.iv(row, I_SERVER)]!;
  }
  clientPort(row: number): number {
    return this.iv(row, I_PORTS) >>> 16;
  }
  serverPort(row: number): number {
    return this.iv(row, I_PORTS) & 0xffff;
  }
  /** Same client and server address and port. */
  sameEndpoints(a: number, b: number): boolean {
    return this.iv(a, I_CLIENT) === this.iv(b, I_CLIENT) && this.iv(a, I_SERVER) === this.iv(b, I_SERVER) && this.iv(a, I_PORTS) === this.iv(b, I_PORTS);
  }

  startTime(row: number): number {
    return this.fv(row, F_START);
  }
  lastTime(row: number): number {
    return this.fv(row, F_LAST);
  }
  /** The record's endTime. */
  endTime(row: number): number {
    return Math.max(this.fv(row, F_LAST), this.fv(row, F_START));
  }
  /** SYN-ACK time (NaN: none). */
  synAckTime(row: number): number {
    return this.fv(row, F_SYNACK);
  }
  maxIdle(row: number): number {
    return this.fv(row, F_MAXIDLE);
  }
  /** SYNs seen from the client (0) or the server (1). */
  syns(row: number, dir: 0 | 1): number {
    return this.iv(row, I_DIR + dir * I_DIR_SIZE + E_SYNS);
  }
  /** The client's (0) or server's (1) ISN (unsigned), or null when no SYN was seen. */
  isn(row: number, dir: 0 | 1): number | null {
    return this.syns(row, dir) > 0 ? this.iv(row, I_DIR + dir * I_DIR_SIZE + E_ISN) >>> 0 : null;
  }
  packets(row: number, dir: 0 | 1): number {
    return this.iv(row, I_DIR + dir * I_DIR_SIZE + E_PACKETS);
  }
  payloadBytes(row: number, dir: 0 | 1): number {
    return this.fv(row, F_DIR + dir * F_DIR_SIZE + D_BYTES);
  }
  finSeen(row: number, dir: 0 | 1): boolean {
    return (this.iv(row, I_FLAGS) & (dir === 0 ? FL_CFIN : FL_SFIN)) !== 0;
  }
  /** Time of the first FIN from that side, and the silence before it (NaN: none). */
  finTime(row: number, dir: 0 | 1): number {
    return this.fv(row, F_DIR + dir * F_DIR_SIZE + D_FIN);
  }
  finIdle(row: number, dir: 0 | 1): number {
    return this.fv(row, F_DIR + dir * F_DIR_SIZE + D_FIN_IDLE);
  }
  /** Times of that side's first and last new payload (NaN: none). */
  firstPayloadTime(row: number, dir: 0 | 1): number {
    return this.fv(row, F_DIR + dir * F_DIR_SIZE + D_FIRST_PAY);
  }
  lastPayloadTime(row: number, dir: 0 | 1): number {
    return this.fv(row, F_DIR + dir * F_DIR_SIZE + D_LAST_PAY);
  }
  midstream(row: number): boolean {
    return (this.iv(row, I_FLAGS) & FL_MIDSTREAM) !== 0;
  }
  refused(row: number): boolean {
    return (this.iv(row, I_FLAGS) & FL_REFUSED) !== 0;
  }
  /** 0 client, 1 server, -1 not closed. */
  closedBy(row: number): number {
    return ((this.iv(row, I_FLAGS) >>> FL_CLOSED_BY_SHIFT) & 3) - 1;
  }
  closeHow(row: number): 'fin' | 'rst' | null {
    return CLOSE_HOWS[(this.iv(row, I_FLAGS) >>> FL_CLOSE_HOW_SHIFT) & 3]!;
  }
  endCause(row: number): EndCause {
    return END_CAUSES[(this.iv(row, I_FLAGS) >>> FL_END_CAUSE_SHIFT) & 7]!;
  }
  /** How its end came (END_CLOCK, END_AT_PACKET, END_FINISH of survey.ts). */
  endPhase(row: number): number {
    return (this.iv(row, I_FLAGS) >>> FL_END_PHASE_SHIFT) & 3;
  }
  /** Complex bits (0: simple). */
  complex(row: number): number {
    return this.iv(row, I_COMPLEX);
  }
  /** What the survey's observer concluded (SurveyConn.tag). */
  tag(row: number): number {
    return this.iv(row, I_TAG);
  }
  /** The row of the connection this one replaced on its 5-tuple (port reuse), -1: none. */
  previous(row: number): number {
    return this.iv(row, I_PREV);
  }
  firstPacket(row: number): number {
    return this.fv(row, F_FIRST_PACKET);
  }
  lastPacket(row: number): number {
    return this.fv(row, F_LAST_PACKET);
  }
  /** Global packet number being processed when it ended (packets read when the capture ended). */
  endPacket(row: number): number {
    return this.fv(row, F_END_PACKET);
  }
  firstInput(row: number): number {
    return this.iv(row, I_INPUTS) >>> 16;
  }
  lastInput(row: number): number {
    return this.iv(row, I_INPUTS) & 0xffff;
  }
  firstOffset(row: number): number {
    return this.fv(row, F_FIRST_OFFSET);
  }
  lastOffset(row: number): number {
    return this.fv(row, F_LAST_OFFSET);
  }

  /** The client's SYN times (the first 16). */
  synTimes(row: number): number[] {
    if ((this.iv(row, I_FLAGS) & FL_SYN_AT_START) !== 0) return [this.fv(row, F_START)];
    const o = this.iv(row, I_EXTRA);
    const n = this.iv(row, I_NSYN);
    const a = this.extra.a;
    // (One array of its size, mostly of one SYN: asked of every connection twice or more by the correlation.)
    if (n === 0) return [];
    if (n === 1) return [a[o]!];
    const out: number[] = [];
    for (let k = 0; k < n; k++) out.push(a[o + k]!);
    return out;
  }
  /** The client's last SYN time kept (NaN: none). */
  lastSynTime(row: number): number {
    if ((this.iv(row, I_FLAGS) & FL_SYN_AT_START) !== 0) return this.fv(row, F_START);
    const n = this.iv(row, I_NSYN);
    return n > 0 ? this.extra.a[this.iv(row, I_EXTRA) + n - 1]! : NaN;
  }
  /** Silences over the threshold, as the record's idleGaps. */
  idleGapList(row: number): { start: number; end: number; seconds: number }[] {
    const out: { start: number; end: number; seconds: number }[] = [];
    const n = this.iv(row, I_NGAPS);
    const a = this.extra.a;
    const pooled = (this.iv(row, I_FLAGS) & FL_SYN_AT_START) !== 0 ? 0 : this.iv(row, I_NSYN);
    for (let k = 0, o = this.iv(row, I_EXTRA) + pooled; k < n; k++, o += 3) out.push({ start: a[o]!, end: a[o + 1]!, seconds: a[o + 2]! });
    return out;
  }

  /** 0: the segment is client → server of this row's connection, 1: server → client, -1: neither. */
  match(row: number, seg: TcpSegment): number {
    const cp = this.clientPort(row);
    const sp = this.serverPort(row);
    const a6 = this.iv(row, I_A6);
    if (seg.ipVersion !== (a6 < 0 ? 4 : 6)) return -1;
    if (a6 < 0) {
      const c4 = this.v4Of[this.iv(row, I_CLIENT)]!;
      const s4 = this.v4Of[this.iv(row, I_SERVER)]!;
      if (seg.src4 === c4 && seg.dst4 === s4 && seg.srcPort === cp && seg.dstPort === sp) return 0;
      if (seg.src4 === s4 && seg.dst4 === c4 && seg.srcPort === sp && seg.dstPort === cp) return 1;
      return -1;
    }
    if (seg.srcPort === cp && seg.dstPort === sp && this.eq6(seg, seg.srcOffset, a6) && this.eq6(seg, seg.dstOffset, a6 + 4)) return 0;
    if (seg.srcPort === sp && seg.dstPort === cp && this.eq6(seg, seg.srcOffset, a6 + 4) && this.eq6(seg, seg.dstOffset, a6)) return 1;
    return -1;
  }

  private eq6(seg: TcpSegment, o: number, w: number): boolean {
    const d = seg.addrData;
    const a = this.a6;
    for (let i = 0; i < 4; i++, o += 4) if (a[w + i] !== ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!)) return false;
    return true;
  }
}
