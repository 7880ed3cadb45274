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
 *
 * Lines are checked as they are read (issues at once); their secrets are decoded at the first
 * look-up, or as they are read while someone listens (keylog-secrets.ts). Which lines are
 * well-formed is found in C when the addon is there (keylog-native.ts; the JavaScript then reads
 * only the other lines), or by the JavaScript itself, with the same results.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { LineWalk, PUT_REPEATED, PendingLines, SLOT_LABELS, SecretTable, TLS13_LABELS, putWellFormed, wellFormedLine, type SessionSecrets } from './keylog-secrets.js';
import { LINES_CHARS, LINES_HDR, LINES_OTHER, LINES_REC, LINES_WELL_FORMED, nativeKeyLogLines } from './keylog-native.js';

export { TLS13_LABELS, type SessionSecrets, type Tls13Label } from './keylog-secrets.js';

/** pcapng Decryption Secrets Block type for TLS key logs ("TLSK"). */
export const DSB_TLS_KEYLOG = 0x544c534b;


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

const CHAR_SPACE = 0x20;
const CHAR_TAB = 0x09;
const CHAR_HASH = 0x23;

/** Value of one hex digit (character code), or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10; // a-f, A-F
  return -1;
}

/** Slot of each label a client random's secret is stored under (keylog-secrets.ts). */
const SLOT_OF: ReadonlyMap<string, number> = new Map(SLOT_LABELS.map((l, i) => [l, i]));

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

/** Whether text[start, end) holds a character other than a space or tab, the first not `#`. */
function holdsKey(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== CHAR_SPACE && c !== CHAR_TAB) return c !== CHAR_HASH;
  }
  return false;
}


/** Shortened client random for messages: "ab12cd34...". Not a secret. */
export function shortRandom(hex: string): string {
  return `${hex.slice(0, 8)}...`;
}

type KeyListener = (clientRandomHex: string) => void;

export interface KeyLogOptions {
  /** The clock `forgetBefore` compares with (seconds since the epoch); default the wall clock. */
  now?: () => number;
  /** Whether lines may be checked in C (keylog-native.ts) when the addon is there; default true (false: the JavaScript reference). */
  native?: boolean;
}

/**
 * Keys in the order first stored, with when (for `forgetBefore`): parallel arrays, the first
 * `head` entries already gone. A key stored again later keeps its first time.
 */
class ForgetQueue<K> {
  readonly keys: K[] = [];
  private readonly times: number[] = [];
  private head = 0;

  push(key: K, time: number): void {
    this.keys.push(key);
    this.times.push(time);
  }

  /** Hands each key stored before `time` to `drop`, oldest first, and lets it go. */
  dropBefore(time: number, drop: (key: K) => void): void {
    let head = this.head;
    while (head < this.times.length && this.times[head]! < time) drop(this.keys[head++]!);
    if (head > 4096 && head * 2 > this.times.length) {
      this.keys.splice(0, head);
      this.times.splice(0, head);
      head = 0;
    }
    this.head = head;
  }
}

export class KeyLog {
  /** Client random -> secrets, decoded at the first look-up (objects made only for the randoms looked up). */
  private readonly secrets = new SecretTable();
  /** Lines read and checked, not decoded yet (nobody has looked anything up since). */
  private readonly pending = new PendingLines();
  /** Whether the text being read is decoded line by line (someone listens for keys) or left pending. */
  private eager = false;
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
  /** Client randoms (their groups in the secret table) first stored, with when: for `forgetBefore`. */
  private readonly randomQueue = new ForgetQueue<number>();
  private readonly rsaQueue = new ForgetQueue<string>();
  private readonly sessionIdQueue = new ForgetQueue<string>();
  private readonly ticketQueue = new ForgetQueue<string>();
  private readonly now: () => number;
  private readonly native: boolean;

  constructor(opts: KeyLogOptions = {}) {
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.native = opts.native ?? true;
  }

  /** Number of client randoms with at least one secret. */
  get size(): number {
    this.decodePending();
    return this.secrets.size;
  }

  /** Number of secret lines accepted so far (all sources). */
  get secretLines(): number {
    return this.lineCount;
  }

  /** Secrets for a ClientHello.random (64 hex digits, any case). */
  get(clientRandomHex: string): SessionSecrets | undefined {
    this.decodePending();
    return this.secrets.get(clientRandomHex);
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
    if (sessionIdHex !== '') this.remember(this.sessionIdQueue, this.bySessionId, sessionIdHex.toLowerCase(), masterSecret);
    if (ticketHex !== '') this.remember(this.ticketQueue, this.byTicket, ticketHex.toLowerCase(), masterSecret);
  }

  /**
   * Forgets every client random's secrets, and every learned TLS 1.2 session, first stored before
   * `time` (on the clock given to the constructor). A long live capture calls this now and then:
   * a connection has its keys in hand once its handshake was decrypted, and keys logged long ago
   * for a handshake never seen will not be needed. Returns how many client randoms went.
   */
  forgetBefore(time: number): number {
    this.decodePending();
    let randoms = 0;
    this.randomQueue.dropBefore(time, (g) => {
      if (this.secrets.remove(g)) randoms++;
    });
    this.secrets.compactIfWasteful();
    this.sessionIdQueue.dropBefore(time, (k) => this.bySessionId.delete(k));
    this.ticketQueue.dropBefore(time, (k) => this.byTicket.delete(k));
    this.rsaQueue.dropBefore(time, (k) => this.rsaPms.delete(k));
    return randoms;
  }

  /** Stores `value` under `key` in `map`, queued for forgetting when the key is new. */
  private remember<V>(queue: ForgetQueue<string>, map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key)) queue.push(key, this.now());
    map.set(key, value);
  }

  /** Decodes the lines read but not decoded yet (their client randoms queued with the time they were read). */
  private decodePending(): void {
    if (this.pending.size > 0) this.pending.drain(this.secrets, (g, time) => this.randomQueue.push(g, time));
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
    this.readText(text, source, firstLine, issues);
    return issues;
  }

  /**
   * Adds a whole key log file's text; also says how many of its lines are neither blank nor
   * comments (`keyLines`: a file where none is, or where every one is an issue, is not a key log).
   * `oneByte`: the caller knows the text has no character above U+00FF (read as latin1, or
   * ASCII), which makes the native check cheaper.
   */
  addWholeText(text: string, source: string, oneByte = false): { issues: KeyLogIssue[]; keyLines: number } {
    const issues: KeyLogIssue[] = [];
    const keyLines = this.readText(text, source, 1, issues, oneByte);
    return { issues, keyLines };
  }

  /** Whether someone listens for keys (lines are then decoded as they are read). */
  private listening(): boolean {
    return this.listeners.size > 0 || this.watchers.size > 0;
  }

  /**
   * The lines of a text checked in C (keylog-native.ts): the well-formed ones to `pending` in runs,
   * the others read one by one between them, as the JavaScript walk reads them; `lineNo` is the
   * first line's number. Returns the key lines.
   */
  private takeChecked(text: string, out: Int32Array, lineNo: number, source: string, issues: KeyLogIssue[]): number {
    const wellFormed = out[LINES_WELL_FORMED]!;
    const others = out[LINES_OTHER]!;
    let keyLines = wellFormed;
    let taken = 0;
    let chars = 0;
    for (let k = 0; k < others; k++) {
      const r = out.length - LINES_REC * (k + 1);
      const before = out[r + 3]!;
      if (before > taken) {
        const c = out[r + 4]!;
        this.pending.lines(out, LINES_HDR + 2 * taken, LINES_HDR + 2 * before, c - chars);
        taken = before;
        chars = c;
      }
      const start = out[r]!;
      const end = out[r + 1]!;
      if (holdsKey(text, start, end)) keyLines++;
      const problem = this.addLine(text.slice(start, end));
      if (problem !== null) issues.push({ source, line: lineNo + out[r + 2]!, message: problem });
    }
    if (wellFormed > taken) this.pending.lines(out, LINES_HDR + 2 * taken, LINES_HDR + 2 * wellFormed, out[LINES_CHARS]! - chars);
    this.lineCount += wellFormed;
    return keyLines;
  }

  /**
   * Adds the lines of `text` (issues to `issues`); returns how many lines are neither blank nor
   * comments: lines whose first character other than a space or tab is not `#` (after the byte
   * order mark, on the first line). `oneByte`: see addWholeText; `checked`: the lines of `text`
   * as the native first pass checked them (a Decryption Secrets Block's).
   */
  private readText(text: string, source: string, firstLine: number, issues: KeyLogIssue[], oneByte = false, checked: Int32Array | null = null): number {
    let keyLines = 0;
    // A byte order mark before the first line (`text` is read as latin1): UTF-8 (an editor's) is
    // skipped; UTF-16LE (PowerShell's `>` redirection) is decoded.
    if (firstLine === 1 && text.startsWith('\u00ff\u00fe')) {
      text = Buffer.from(text.slice(2), 'latin1').toString('utf16le');
      oneByte = false;
      checked = null;
    }
    const start = firstLine !== 1 ? 0 : text.startsWith('\u00ef\u00bb\u00bf') ? 3 : text.startsWith('\ufeff') ? 1 : 0;
    // Someone listening hears of each new secret as its line is read (sessions waiting for keys
    // met in a capture); else the lines wait, checked, until something is looked up.
    this.eager = this.listening();
    if (this.eager) this.decodePending();
    else this.pending.begin(text, this.now());
    // Checked in C (unless decoded as read): the JavaScript reads only the lines of other shapes.
    const lines = this.eager || !this.native ? null : (checked ?? nativeKeyLogLines(text, start, oneByte));
    if (lines !== null) keyLines = this.takeChecked(text, lines, firstLine, source, issues);
    else keyLines = this.walkText(text, start, firstLine, source, issues);
    if (!this.eager) {
      this.pending.end();
      if (this.pending.full) this.decodePending();
    }
    return keyLines;
  }

  /** The lines of text[start...] checked and read by the JavaScript (the reference of the native check); returns the key lines. */
  private walkText(text: string, start: number, firstLine: number, source: string, issues: KeyLogIssue[]): number {
    let keyLines = 0;
    let lineNo = firstLine;
    for (const w = new LineWalk(text, start, text.length); w.next(); lineNo++) {
      if (wellFormedLine(text, w.start, w.end)) {
        keyLines++;
        if (this.eager) this.storeWellFormed(text, w.start, w.end);
        else {
          this.pending.line(w.start, w.end);
          this.lineCount++;
        }
        continue;
      }
      if (holdsKey(text, w.start, w.end)) keyLines++;
      const problem = this.addLine(text.slice(w.start, w.end));
      if (problem !== null) issues.push({ source, line: lineNo, message: problem });
    }
    return keyLines;
  }

  /** A well-formed line read while someone listens: stored and announced now (a repeat only counted). */
  private storeWellFormed(text: string, start: number, end: number): void {
    const g = putWellFormed(this.secrets, text, start, end);
    if (g === PUT_REPEATED) this.lineCount++;
    else this.stored(g);
  }

  /** The secret of a line of another shape, checked (stored even when known, as such lines always were). */
  private storeLine(slot: number, cr: string, secretHex: string): void {
    if (this.eager) {
      this.stored(this.secrets.put(cr, slot, secretHex, false));
      return;
    }
    this.pending.addLine(slot, cr, secretHex);
    this.lineCount++;
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
    return this.addWholeText(text, path, true).issues;
  }

  /**
   * Adds the content of a pcapng Decryption Secrets Block. Only TLS key logs ("TLSK") are used;
   * other secret types are reported once as an issue and ignored. `lines`: the block's lines as
   * the native first pass checked them (keylog-native.ts), when it did.
   */
  addDsb(secretsType: number, data: Uint8Array, source?: string, lines?: Int32Array | null): KeyLogIssue[] {
    this.dsbCount++;
    const name = source ?? `pcapng Decryption Secrets Block #${this.dsbCount}`;
    if (secretsType !== DSB_TLS_KEYLOG) {
      return [{ source: name, line: 0, message: `secrets type 0x${(secretsType >>> 0).toString(16).padStart(8, '0')} is not a TLS key log; ignored` }];
    }
    const issues: KeyLogIssue[] = [];
    this.readText(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'), name, 1, issues, true, lines ?? null);
    return issues;
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

  /** Secret bytes of hex digits already checked (even count, all hex). */
  private hexToBytes(hex: string): Uint8Array {
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }

  /** A secret was stored for the client random of group `g`: counted, queued if new, announced. */
  private stored(g: number): void {
    if (this.secrets.created) this.randomQueue.push(g, this.now());
    this.lineCount++;
    if (this.listeners.size === 0 && this.watchers.size === 0) return;
    const cr = this.secrets.randomHex(g);
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
      this.remember(this.rsaQueue, this.rsaPms, ownLowerHex(id, 0, id.length), this.hexToBytes(secretHex));
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
    this.storeLine(SLOT_OF.get(label)!, id, secretHex);
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
    this.remember(this.sessionIdQueue, this.bySessionId, ownLowerHex(sid, 0, sid.length), this.hexToBytes(mk));
    this.lineCount++;
    return null;
  }
}

/** Formats a key log issue as one line: "file:line: message". */
export function formatKeyLogIssue(i: KeyLogIssue): string {
  return i.line > 0 ? `${i.source}:${i.line}: ${i.message}` : `${i.source}: ${i.message}`;
}
