/**
 * TLS key logs: the NSS `SSLKEYLOGFILE` format (RFC 9850), plus the legacy lines Wireshark reads.
 *
 *   label SP client_random(64 hex) SP secret(hex)
 *
 * Labels: CLIENT_RANDOM (TLS <= 1.2 master secret, 48 bytes), CLIENT_EARLY_TRAFFIC_SECRET,
 * EARLY_EXPORTER_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET (TLS 1.3, hash length);
 * ECH_SECRET / ECH_CONFIG are accepted and ignored. Legacy: `RSA <8-byte encrypted PMS prefix>
 * <48-byte pre-master>`, `PMS_CLIENT_RANDOM <client random> <pre-master>` and
 * `RSA Session-ID:<hex> Master-Key:<96 hex>`.
 *
 * Lines end in CRLF, CR or LF; hex in either case; `#` comments and blank lines are skipped.
 * A malformed line is reported as a KeyLogIssue (source + 1-based line) and skipped, never fatal.
 * Issues quote nothing of a line but a known label: they say which field is wrong and describe it
 * by shape (its length, what it is made of), because a line cut short or glued to the next can
 * put any part of a secret in any field. A UTF-8 byte order mark before the first line is skipped;
 * a file starting with a UTF-16LE one is decoded as UTF-16.
 *
 * Keys may arrive at any time (a file followed while it grows, Decryption Secrets Blocks met while
 * reading a pcapng); TLS sessions waiting for a client random subscribe with `onKey()`.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

/** pcapng Decryption Secrets Block type for TLS key logs ("TLSK"). */
export const DSB_TLS_KEYLOG = 0x544c534b;

export const TLS13_LABELS = [
  'CLIENT_EARLY_TRAFFIC_SECRET',
  'EARLY_EXPORTER_SECRET',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
] as const;
export type Tls13Label = (typeof TLS13_LABELS)[number];

/** Every secret known for one ClientHello.random. Secrets are raw bytes; never print them. */
export interface SessionSecrets {
  /** TLS <= 1.2 master secret (48 bytes). */
  masterSecret: Uint8Array | null;
  /** TLS <= 1.2 pre-master secret (PMS_CLIENT_RANDOM). */
  preMasterSecret: Uint8Array | null;
  tls13: Partial<Record<Tls13Label, Uint8Array>>;
}

export interface KeyLogIssue {
  /** File name as the user gave it, or "pcapng DSB #n". */
  source: string;
  /** 1-based line number within the source. */
  line: number;
  message: string;
}

export interface Watcher {
  /** Reads whatever was appended since the last read (also done automatically on change). */
  poll(): KeyLogIssue[];
  close(): void;
}

const IGNORED_LABELS = new Set(['ECH_SECRET', 'ECH_CONFIG', 'SERVER_EARLY_TRAFFIC_SECRET']);
const TLS13_SET: ReadonlySet<string> = new Set(TLS13_LABELS);

const HEX_RE = /^[0-9a-fA-F]*$/;

const CHAR_LF = 0x0a;
const CHAR_CR = 0x0d;
const CHAR_SPACE = 0x20;

/** Value of one hex digit (character code), or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10; // a-f, A-F
  return -1;
}

/** Whether text[start, end) is all hex digits. */
function isHexRange(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (hexDigit(text.charCodeAt(i)) < 0) return false;
  return true;
}

/** Whether text[start, start + 2 * bytes.length) are hex digits spelling `bytes`. */
function hexRangeEquals(text: string, start: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const at = start + 2 * i;
    if (((hexDigit(text.charCodeAt(at)) << 4) | hexDigit(text.charCodeAt(at + 1))) !== bytes[i]) return false;
  }
  return true;
}

/** Decodes text[start, end) (an even number of characters) into `out`; false if one is not a hex digit. */
function decodeHexRange(text: string, start: number, end: number, out: Uint8Array): boolean {
  for (let i = 0; i < out.length && start + 2 * i < end; i++) {
    const at = start + 2 * i;
    const high = hexDigit(text.charCodeAt(at));
    const low = hexDigit(text.charCodeAt(at + 1));
    if (high < 0 || low < 0) return false;
    out[i] = (high << 4) | low;
  }
  return true;
}

let keyScratch = Buffer.allocUnsafe(128);

/**
 * text[start, end) (hex digits) in lower case, as a string of its own. A map key must not be a
 * slice of the key log text: V8 keeps a slice's whole parent string alive, so one stored key
 * would pin the entire text (every appended chunk, in a followed key log) for the life of the
 * KeyLog.
 */
function ownLowerHex(text: string, start: number, end: number): string {
  const n = end - start;
  if (n > keyScratch.length) keyScratch = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(start + i);
    keyScratch[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return keyScratch.toString('latin1', 0, n);
}

const KNOWN_LABELS: readonly string[] = ['CLIENT_RANDOM', 'PMS_CLIENT_RANDOM', 'RSA', ...TLS13_LABELS, ...IGNORED_LABELS];
/**
 * Known labels, longest first ("CLIENT_RANDOM" must not be found inside "PMS_CLIENT_RANDOM"),
 * to find one glued inside a field. RSA is left out: three letters turn up inside other words.
 */
const LABELS_LONGEST_FIRST = KNOWN_LABELS.filter((l) => l !== 'RSA').sort((a, b) => b.length - a.length);

/** `n` with its unit, singular or plural: "1 hex digit", "96 hex digits". */
function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** What a run of characters that is not a label is made of: "96 hex digits", "40 characters (3 not hex digits, 1 NUL)". */
function describeRun(s: string): string {
  if (s.length === 0) return 'empty';
  let hex = 0;
  let nul = 0;
  let control = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (hexDigit(c) >= 0) hex++;
    else if (c === 0) nul++;
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) control++;
  }
  if (hex === s.length) return count(hex, 'hex digit');
  const parts = [`${s.length - hex} not hex digit${s.length - hex === 1 ? '' : 's'}`];
  if (nul > 0) parts.push(count(nul, 'NUL'));
  if (control > 0) parts.push(count(control, 'control character'));
  return `${count(s.length, 'character')} (${parts.join(', ')})`;
}

/**
 * Describes one field of a key log line by its shape, never by its text (`labelField`: the first
 * field, where a word is an unknown label): a field of a line cut
 * short or glued to the next (two writers appending to one file) can hold any part of a secret.
 * Only known labels (and the start of one) are shown, as they are not secret. Examples: "96 hex
 * digits", "an unknown label of 11 characters", "40 hex digits followed by the label
 * CLIENT_RANDOM", "a label cut short ("CLIENT_HANDSH", 13 characters)".
 */
export function describeKeyLogField(s: string, labelField = false): string {
  for (const label of LABELS_LONGEST_FIRST) {
    const at = s.indexOf(label);
    if (at < 0 || s.length === label.length) continue;
    const before = s.slice(0, at);
    const after = s.slice(at + label.length);
    const parts = [before === '' ? '' : `${describeRun(before)} followed by `, `the label ${label}`, after === '' ? '' : ` then ${describeRun(after)}`];
    return parts.join('');
  }
  // The start of a known label is its own text, not the line's: safe to show.
  if (s.length >= 3 && /^[A-Z_]+$/.test(s) && LABELS_LONGEST_FIRST.some((l) => l.startsWith(s))) {
    return `a label cut short ("${s}", ${count(s.length, 'character')})`;
  }
  if (labelField && /^[A-Za-z0-9_-]+$/.test(s) && /[G-Zg-z_-]/.test(s)) return `an unknown label of ${count(s.length, 'character')}`;
  return describeRun(s);
}

/** Describes fields[from..] (at most `max`) by shape: "field 3 is 40 hex digits, field 4 is ...". */
function describeFields(fields: string[], from: number, max: number): string {
  const out: string[] = [];
  for (let i = from; i < fields.length && i < from + max; i++) out.push(`field ${i + 1} is ${describeKeyLogField(fields[i]!)}`);
  if (fields.length > from + max) out.push(`${count(fields.length - from - max, 'more field')}`);
  return out.join(', ');
}

/** Whether some field after the first holds a known label: a line cut short with the next glued on. */
function gluedLine(fields: string[]): boolean {
  for (let i = 1; i < fields.length; i++) if (LABELS_LONGEST_FIRST.some((l) => fields[i]!.includes(l))) return true;
  return false;
}

const GLUED_HINT = ' (a line cut short with the next one glued on: two programs writing one key log?)';

/** Shortened client random for messages: "ab12cd34...". Not a secret. */
export function shortRandom(hex: string): string {
  return `${hex.slice(0, 8)}...`;
}

type KeyListener = (clientRandomHex: string) => void;

export interface KeyLogOptions {
  /** The clock `forgetBefore` compares with (seconds since the epoch); default the wall clock. */
  now?: () => number;
}

/** Which map an entry of the forgetting queue names. */
const Q_RANDOM = 0;
const Q_SESSION_ID = 1;
const Q_TICKET = 2;
const Q_RSA = 3;

export class KeyLog {
  private readonly byRandom = new Map<string, SessionSecrets>();
  /** RSA label: first 8 bytes of the encrypted pre-master secret (hex, lower) -> pre-master. */
  private readonly rsaPms = new Map<string, Uint8Array>();
  /** Session id (hex) -> master secret: from `RSA Session-ID:` lines and learned sessions. */
  private readonly bySessionId = new Map<string, Uint8Array>();
  /** Session ticket (hex) -> master secret, learned from decrypted sessions. */
  private readonly byTicket = new Map<string, Uint8Array>();
  private readonly listeners = new Set<KeyListener>();
  private readonly watchers = new Map<string, Set<KeyListener>>();
  private dsbCount = 0;
  private lineCount = 0;
  /**
   * Secrets are views into shared 16 KiB chunks rather than arrays of their own: tens of
   * thousands of 32-48 byte secrets would otherwise each cost an ArrayBuffer object and a
   * native backing store (about four times the secret's size).
   */
  private chunk = new Uint8Array(0);
  private chunkUsed = 0;
  /**
   * Every key first stored, in order, with when (for `forgetBefore`): parallel arrays, the first
   * `queueHead` entries already gone. A key stored again later keeps its first time.
   */
  private readonly queueKinds: number[] = [];
  private readonly queueKeys: string[] = [];
  private readonly queueTimes: number[] = [];
  private queueHead = 0;
  private readonly now: () => number;

  constructor(opts: KeyLogOptions = {}) {
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  /** Number of client randoms with at least one secret. */
  get size(): number {
    return this.byRandom.size;
  }

  /** Number of secret lines accepted so far (all sources). */
  get secretLines(): number {
    return this.lineCount;
  }

  /** Secrets for a ClientHello.random (64 hex digits, any case). */
  get(clientRandomHex: string): SessionSecrets | undefined {
    return this.byRandom.get(clientRandomHex.toLowerCase());
  }

  rsaPreMaster(encryptedPmsPrefixHex: string): Uint8Array | undefined {
    return this.rsaPms.get(encryptedPmsPrefixHex.toLowerCase());
  }

  masterBySessionId(sessionIdHex: string): Uint8Array | undefined {
    return sessionIdHex === '' ? undefined : this.bySessionId.get(sessionIdHex.toLowerCase());
  }

  masterByTicket(ticketHex: string): Uint8Array | undefined {
    return ticketHex === '' ? undefined : this.byTicket.get(ticketHex.toLowerCase());
  }

  /** Remembers a TLS 1.2 session so later connections resuming it (by id or ticket) decrypt. */
  learnSession(sessionIdHex: string, ticketHex: string, masterSecret: Uint8Array): void {
    if (sessionIdHex !== '') this.remember(Q_SESSION_ID, this.bySessionId, sessionIdHex.toLowerCase(), masterSecret);
    if (ticketHex !== '') this.remember(Q_TICKET, this.byTicket, ticketHex.toLowerCase(), masterSecret);
  }

  /**
   * Forgets every client random's secrets, and every learned TLS 1.2 session, first stored before
   * `time` (on the clock given to the constructor). A long live capture calls this now and then:
   * a connection has its keys in hand once its handshake was decrypted, and keys logged long ago
   * for a handshake never seen will not be needed. Returns how many client randoms went.
   */
  forgetBefore(time: number): number {
    let randoms = 0;
    const kinds = this.queueKinds;
    const keys = this.queueKeys;
    const times = this.queueTimes;
    let head = this.queueHead;
    while (head < times.length && times[head]! < time) {
      const key = keys[head]!;
      const kind = kinds[head]!;
      if (kind === Q_RANDOM) {
        if (this.byRandom.delete(key)) randoms++;
      } else if (kind === Q_SESSION_ID) this.bySessionId.delete(key);
      else if (kind === Q_TICKET) this.byTicket.delete(key);
      else this.rsaPms.delete(key);
      head++;
    }
    if (head > 4096 && head * 2 > times.length) {
      kinds.splice(0, head);
      keys.splice(0, head);
      times.splice(0, head);
      head = 0;
    }
    this.queueHead = head;
    return randoms;
  }

  /** Stores `value` under `key` in `map`, queued for forgetting when the key is new. */
  private remember<V>(kind: number, map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key)) this.enqueue(kind, key);
    map.set(key, value);
  }

  private enqueue(kind: number, key: string): void {
    this.queueKinds.push(kind);
    this.queueKeys.push(key);
    this.queueTimes.push(this.now());
  }

  /** Called (synchronously) whenever a secret for some client random is added. */
  onKey(listener: KeyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` whenever a secret for this client random (hex) is added. */
  watch(clientRandomHex: string, listener: KeyListener): () => void {
    const cr = clientRandomHex.toLowerCase();
    let set = this.watchers.get(cr);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(cr, set);
    }
    set.add(listener);
    return () => {
      const s = this.watchers.get(cr);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.watchers.delete(cr);
    };
  }

  /**
   * Adds the lines of a key log text. `source` names it in issues; `firstLine` lets a follower
   * continue numbering. Returns the malformed lines (skipped).
   */
  addText(text: string, source: string, firstLine = 1): KeyLogIssue[] {
    const issues: KeyLogIssue[] = [];
    // Lines end in CRLF, CR or LF. Found with indexOf (native search) rather than a RegExp split:
    // a key log can have hundreds of thousands of lines, and a capture's Decryption Secrets
    // Blocks usually repeat the key log file given with --keylog.
    let nextLf = text.indexOf('\n');
    let nextCr = text.indexOf('\r');
    // A byte order mark before the first line (`text` is read as latin1): UTF-8 (an editor's) is
    // skipped; UTF-16LE (PowerShell's `>` redirection) is decoded.
    if (firstLine === 1 && text.startsWith('\u00ff\u00fe')) text = Buffer.from(text.slice(2), 'latin1').toString('utf16le');
    let start = firstLine !== 1 ? 0 : text.startsWith('\u00ef\u00bb\u00bf') ? 3 : text.startsWith('\ufeff') ? 1 : 0;
    for (let lineNo = firstLine; ; lineNo++) {
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
      const end = nextCr === -1 ? (nextLf === -1 ? text.length : nextLf) : nextLf === -1 ? nextCr : Math.min(nextLf, nextCr);
      if (!this.addWellFormedLine(text, start, end)) {
        const problem = this.addLine(text.slice(start, end));
        if (problem !== null) issues.push({ source, line: lineNo, message: problem });
      }
      if (end === text.length) break;
      start = end + (text.charCodeAt(end) === CHAR_CR && text.charCodeAt(end + 1) === CHAR_LF ? 2 : 1);
    }
    return issues;
  }

  /** Reads a whole key log file; a file that cannot be read is a MirrorlensError naming it. */
  addFile(path: string): KeyLogIssue[] {
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? e);
      throw new MirrorlensError(ErrorCode.FileOpen, `cannot read key log: ${why}`, { file: path });
    }
    return this.addText(text, path);
  }

  /**
   * Adds the content of a pcapng Decryption Secrets Block. Only TLS key logs ("TLSK") are used;
   * other secret types are reported once as an issue and ignored.
   */
  addDsb(secretsType: number, data: Uint8Array, source?: string): KeyLogIssue[] {
    this.dsbCount++;
    const name = source ?? `pcapng Decryption Secrets Block #${this.dsbCount}`;
    if (secretsType !== DSB_TLS_KEYLOG) {
      return [{ source: name, line: 0, message: `secrets type 0x${(secretsType >>> 0).toString(16).padStart(8, '0')} is not a TLS key log; ignored` }];
    }
    return this.addText(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'), name);
  }

  /**
   * Reads a key log file and keeps reading what is appended to it (live capture). Lines split
   * across writes are joined; a file truncated or replaced (a new file at the path) is read again
   * from its start. A file that does not exist yet is waited for: the usual order is the capture
   * first, then the client that writes the key log. Issues found later are handed to `onIssues`;
   * a path that cannot be opened for another reason is an error at once.
   */
  follow(path: string, onIssues: (issues: KeyLogIssue[]) => void = () => {}, pollMs = 500): Watcher {
    let fd = -1;
    let ino = -1;
    const open = (): boolean => {
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new MirrorlensError(ErrorCode.FileOpen, `cannot open key log: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path });
      }
      const st = fstatSync(fd);
      if (st.isDirectory()) {
        closeSync(fd);
        fd = -1;
        throw new MirrorlensError(ErrorCode.FileOpen, 'cannot open key log: it is a directory', { file: path });
      }
      ino = st.ino;
      return true;
    };
    open();
    let pos = 0;
    let partial = '';
    let nextLine = 1;
    let closed = false;
    const buf = Buffer.allocUnsafe(64 * 1024);
    const restart = (): void => {
      pos = 0;
      partial = '';
      nextLine = 1;
    };
    const poll = (): KeyLogIssue[] => {
      if (closed) return [];
      if (fd < 0) {
        if (!open()) return [];
        restart();
      } else {
        // Replaced by a new file at the path (rotation, or the writer recreating it): read that one.
        let now = -1;
        try {
          now = statSync(path).ino;
        } catch {
          /* gone for a moment */
        }
        if (now >= 0 && now !== ino) {
          closeSync(fd);
          fd = -1;
          if (!open()) return [];
          restart();
        }
      }
      const issues: KeyLogIssue[] = [];
      const st = fstatSync(fd);
      if (st.size < pos) restart();
      let text = partial;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        text += buf.toString('latin1', 0, n);
      }
      // Keep an unterminated last line for later (a writer mid-line).
      const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
      partial = text.slice(cut + 1);
      const complete = text.slice(0, cut + 1);
      if (complete.length > 0) {
        const body = complete.replace(/\r\n/g, '\n').replace(/\r/g, '\n');
        const lines = body.slice(0, -1);
        issues.push(...this.addText(lines, path, nextLine));
        nextLine += lines.split('\n').length;
      }
      return issues;
    };
    const first = poll();
    if (first.length > 0) onIssues(first);
    let watcher: FSWatcher | null = null;
    const tick = (): void => {
      try {
        const found = poll();
        if (found.length > 0) onIssues(found);
      } catch {
        /* file vanished for a moment (rotation); try again on the next tick */
      }
    };
    try {
      // Watching the path needs it to exist; until then (and always) the timer polls.
      if (fd >= 0) watcher = watch(path, { persistent: false }, tick);
    } catch {
      watcher = null;
    }
    const timer = setInterval(tick, pollMs);
    timer.unref();
    return {
      poll,
      close() {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        watcher?.close();
        if (fd >= 0) closeSync(fd);
      },
    };
  }

  /**
   * Fast path for the common line, `LABEL SP client_random(64 hex) SP secret(hex)` with a
   * CLIENT_RANDOM, PMS_CLIENT_RANDOM or TLS 1.3 label, single spaces and nothing around it.
   * Scans text[start, end) in place (no trim/split/RegExp, no hex string copies) and skips a
   * secret already known (same label, client random and secret: a capture's Decryption Secrets
   * Blocks repeating the --keylog file) without decoding it. Returns false when the line has any
   * other shape or fails a check; `addLine` then parses it and words the issue, exactly as for
   * any other line.
   */
  private addWellFormedLine(text: string, start: number, end: number): boolean {
    const labelEnd = text.indexOf(' ', start);
    if (labelEnd <= start || labelEnd + 1 + 64 + 1 >= end) return false;
    const crStart = labelEnd + 1;
    const secretStart = crStart + 64 + 1;
    if (text.charCodeAt(crStart + 64) !== CHAR_SPACE) return false;
    const secretLength = end - secretStart;
    const label = text.slice(start, labelEnd);
    if (label === 'CLIENT_RANDOM' || label === 'PMS_CLIENT_RANDOM') {
      if (secretLength !== 96) return false;
    } else if (TLS13_SET.has(label)) {
      if (secretLength !== 64 && secretLength !== 96) return false;
    } else {
      return false;
    }
    if (!isHexRange(text, crStart, crStart + 64)) return false;
    const cr = ownLowerHex(text, crStart, crStart + 64);
    let s = this.byRandom.get(cr);
    const known = s === undefined ? null : label === 'CLIENT_RANDOM' ? s.masterSecret : label === 'PMS_CLIENT_RANDOM' ? s.preMasterSecret : (s.tls13[label as Tls13Label] ?? null);
    // (hexRangeEquals and decodeHexRange are false on a non-hex digit: the secret's digits
    // are checked while compared or decoded, not in a pass of their own.)
    if (known !== null && known.length * 2 === secretLength && hexRangeEquals(text, secretStart, known)) {
      // Nothing new: waiting sessions already heard of this secret when it was first added.
      this.lineCount++;
      return true;
    }
    const secret = this.secretBytes(secretLength >> 1);
    if (!decodeHexRange(text, secretStart, end, secret)) {
      this.chunkUsed -= secret.length; // give the space back: the line goes to addLine
      return false;
    }
    if (s === undefined) {
      s = { masterSecret: null, preMasterSecret: null, tls13: {} };
      this.byRandom.set(cr, s);
      this.enqueue(Q_RANDOM, cr);
    }
    this.storeSecret(s, cr, label, secret);
    return true;
  }

  /** Room for a secret of `n` bytes in the current chunk (a new chunk when it is full). */
  private secretBytes(n: number): Uint8Array {
    if (this.chunkUsed + n > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(16 * 1024, n));
      this.chunkUsed = 0;
    }
    const out = this.chunk.subarray(this.chunkUsed, this.chunkUsed + n);
    this.chunkUsed += n;
    return out;
  }

  /** Secret bytes of hex digits already checked (even count, all hex). */
  private hexToBytes(hex: string): Uint8Array {
    const out = this.secretBytes(hex.length >> 1);
    decodeHexRange(hex, 0, hex.length, out);
    return out;
  }

  /** Stores a secret for client random `cr` (lower-case hex) and tells who waits for it. */
  private storeSecret(s: SessionSecrets, cr: string, label: string, secret: Uint8Array): void {
    if (label === 'CLIENT_RANDOM') s.masterSecret = secret;
    else if (label === 'PMS_CLIENT_RANDOM') s.preMasterSecret = secret;
    else s.tls13[label as Tls13Label] = secret;
    this.lineCount++;
    for (const l of this.listeners) l(cr);
    const w = this.watchers.get(cr);
    if (w !== undefined) for (const l of [...w]) l(cr);
  }

  /**
   * Returns null when accepted or ignored, else a message. A message names a known label and
   * describes every other field by position and shape (`describeKeyLogField`), never by content.
   */
  private addLine(raw: string): string | null {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return null;
    const fields = line.split(/[ \t]+/);
    const label = fields[0]!;
    if (IGNORED_LABELS.has(label)) return null;
    if (label === 'RSA' && fields[1]?.startsWith('Session-ID:')) return this.addRsaSessionLine(fields);
    const known = label === 'RSA' || label === 'CLIENT_RANDOM' || label === 'PMS_CLIENT_RANDOM' || TLS13_SET.has(label);
    if (!known) {
      const shape = describeKeyLogField(label, true);
      const hint = /^\d+ hex digits? followed by the label/.test(shape) ? GLUED_HINT : /^\d+ hex digits$/.test(shape) ? ' (fields out of order?)' : '';
      return `field 1 is ${shape}, expected a label such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0${hint}`;
    }
    if (fields.length !== 3) {
      const hint = gluedLine(fields) ? GLUED_HINT : '';
      return `${label}: expected 3 fields (label, client random, secret), got ${fields.length}: ${describeFields(fields, 1, 4)}${hint}`;
    }
    const id = fields[1]!;
    const secretHex = fields[2]!;
    if (label === 'RSA') {
      if (!HEX_RE.test(id) || id.length !== 16) return `RSA: field 2 (encrypted pre-master prefix) is ${describeKeyLogField(id)}, expected 16 hex digits`;
      if (!HEX_RE.test(secretHex) || secretHex.length !== 96) return `RSA: field 3 (pre-master secret) is ${describeKeyLogField(secretHex)}, expected 96 hex digits`;
      this.remember(Q_RSA, this.rsaPms, ownLowerHex(id, 0, id.length), this.hexToBytes(secretHex));
      this.lineCount++;
      return null;
    }
    if (!HEX_RE.test(id) || id.length !== 64) return `${label}: field 2 (client random) is ${describeKeyLogField(id)}, expected 64 hex digits`;
    const hexOk = HEX_RE.test(secretHex);
    if (label === 'CLIENT_RANDOM' && (!hexOk || secretHex.length !== 96)) {
      return `CLIENT_RANDOM: field 3 (master secret) is ${describeKeyLogField(secretHex)}, expected 96 hex digits (48 bytes)`;
    }
    if (label === 'PMS_CLIENT_RANDOM' && (!hexOk || secretHex.length === 0 || secretHex.length % 2 !== 0)) {
      return `PMS_CLIENT_RANDOM: field 3 (pre-master secret) is ${describeKeyLogField(secretHex)}, expected an even number of hex digits`;
    }
    if (TLS13_SET.has(label) && (!hexOk || (secretHex.length !== 64 && secretHex.length !== 96))) {
      return `${label}: field 3 (secret) is ${describeKeyLogField(secretHex)}, expected 64 or 96 hex digits (SHA-256/SHA-384)`;
    }
    const cr = ownLowerHex(id, 0, id.length);
    let s = this.byRandom.get(cr);
    if (s === undefined) {
      s = { masterSecret: null, preMasterSecret: null, tls13: {} };
      this.byRandom.set(cr, s);
      this.enqueue(Q_RANDOM, cr);
    }
    this.storeSecret(s, cr, label, this.hexToBytes(secretHex));
    return null;
  }

  /** `RSA Session-ID:<hex> Master-Key:<96 hex>` (fields already split); null when stored. */
  private addRsaSessionLine(fields: string[]): string | null {
    const sid = fields[1]!.slice('Session-ID:'.length);
    const mk = fields[2]?.startsWith('Master-Key:') ? fields[2].slice('Master-Key:'.length) : undefined;
    if (fields.length !== 3 || mk === undefined) {
      return `RSA Session-ID line: expected "RSA Session-ID:<hex> Master-Key:<hex>", got ${count(fields.length, 'field')}: ${describeFields(fields, 1, 4)}`;
    }
    if (!HEX_RE.test(sid) || sid.length === 0 || sid.length > 64 || sid.length % 2) return `RSA Session-ID line: the session id is ${describeKeyLogField(sid)}, expected 2 to 64 hex digits (an even number)`;
    if (!HEX_RE.test(mk) || mk.length !== 96) return `RSA Session-ID line: the master key is ${describeKeyLogField(mk)}, expected 96 hex digits`;
    this.remember(Q_SESSION_ID, this.bySessionId, ownLowerHex(sid, 0, sid.length), this.hexToBytes(mk));
    this.lineCount++;
    return null;
  }
}

/** Formats a key log issue as one line: "file:line: message". */
export function formatKeyLogIssue(i: KeyLogIssue): string {
  return i.line > 0 ? `${i.source}:${i.line}: ${i.message}` : `${i.source}: ${i.message}`;
}
