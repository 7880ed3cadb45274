/**
 * The secrets of a key log by client random (keylog.ts reads the lines and words their issues).
 *
 * A key log is read whole before anything is looked up in it, and most of it may never be: a
 * targeted analysis decrypts only the connections a finding needs, often none. So reading a line
 * is one RegExp test of its shape in native code (`wellFormedLine`; the other lines go to the
 * general parser, which reports their issues at once), and the well-formed lines wait where they
 * are in the text (`PendingLines`: their offsets; the lines copied out when the text is mostly
 * something else) until the first look-up decodes them all into the table below. Objects
 * (`SessionSecrets`) are made only for the client randoms looked up, once each.
 *
 *   arena (one Buffer):  | secret | secret | secret | ...   (decoded and compared natively)
 *   groups: client random (lower-case hex) -> g;  slotAt[g * SLOTS + s], slotLen[...]: the
 *   newest secret of slot s (0 CLIENT_RANDOM's master secret, 1 PMS_CLIENT_RANDOM, 2.. TLS 1.3)
 *
 * A secret replaced, or a client random forgotten (`remove`), leaves its bytes dead in the arena;
 * `compactIfWasteful` copies the live ones to a new arena once the dead outweigh them. Secrets
 * handed out are copies, so they never hold an arena alive.
 */
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

/** The labels by slot: CLIENT_RANDOM, PMS_CLIENT_RANDOM, then the TLS 1.3 labels. */
export const SLOT_LABELS = ['CLIENT_RANDOM', 'PMS_CLIENT_RANDOM', ...TLS13_LABELS] as const;
export const SLOT_MASTER = 0;
export const SLOT_PMS = 1;
const SLOTS = SLOT_LABELS.length;

/** Slot of the label text[start, end), or -1 (compared in place: no string cut per line). */
export function labelSlot(text: string, start: number, end: number): number {
  const n = end - start;
  for (let s = 0; s < SLOTS; s++) {
    const label = SLOT_LABELS[s]!;
    if (label.length === n && text.startsWith(label, start)) return s;
  }
  return -1;
}

const H = '[0-9a-fA-F]';
/** The common line: LABEL SP client random (64 hex) SP secret (96 hex; 64 or 96 for TLS 1.3), nothing around it. */
const WELL_FORMED = new RegExp(`(?:CLIENT_RANDOM|PMS_CLIENT_RANDOM) ${H}{64} ${H}{96}|(?:${SLOT_LABELS.slice(2).join('|')}) ${H}{64} ${H}{64}(?:${H}{32})?`, 'y');

/** Whether text[start, end) is a well-formed line (see WELL_FORMED): checked by the RegExp engine, not character by character. */
export function wellFormedLine(text: string, start: number, end: number): boolean {
  WELL_FORMED.lastIndex = start;
  return WELL_FORMED.test(text) && WELL_FORMED.lastIndex === end;
}

/** Stores a well-formed line's secret (a repeat skipped): `put`'s result. */
export function putWellFormed(table: SecretTable, text: string, start: number, end: number): number {
  const labelEnd = text.indexOf(' ', start);
  const crStart = labelEnd + 1;
  return table.put(text.substring(crStart, crStart + 64), labelSlot(text, start, labelEnd), text.substring(crStart + 64 + 1, end), true);
}

const CHAR_LF = 0x0a;
const CHAR_CR = 0x0d;

/**
 * The lines of text[start, limit), ended by CRLF, CR or LF: text[start, end) after each next().
 * The line ends are found with indexOf (native search), each kind looked for again only once passed.
 */
export class LineWalk {
  start: number;
  end = -1;
  private lf: number;
  private cr: number;

  constructor(
    private readonly text: string,
    start: number,
    private readonly limit: number,
  ) {
    this.start = start;
    this.lf = text.indexOf('\n', start);
    this.cr = text.indexOf('\r', start);
  }

  /** Moves to the next line; false after the last (the one ending at `limit`, empty after a final line end). */
  next(): boolean {
    const text = this.text;
    if (this.end >= 0) {
      if (this.end >= this.limit) return false;
      this.start = this.end + (text.charCodeAt(this.end) === CHAR_CR && text.charCodeAt(this.end + 1) === CHAR_LF ? 2 : 1);
    }
    const start = this.start;
    if (this.lf !== -1 && this.lf < start) this.lf = text.indexOf('\n', start);
    if (this.cr !== -1 && this.cr < start) this.cr = text.indexOf('\r', start);
    const lf = this.lf;
    const cr = this.cr;
    const end = cr === -1 ? (lf === -1 ? this.limit : lf) : lf === -1 ? cr : Math.min(lf, cr);
    this.end = end < this.limit ? end : this.limit;
    return true;
  }
}

/** Key-log lines read, not decoded yet: the well-formed lines of `text` at `offsets` (start, end pairs), or (slot >= 0) one line of another shape, `text` = client random + secret. */
interface Pending {
  text: string;
  offsets: Int32Array | null;
  slot: number;
  /** When read (the client randoms' first time, for forgetting). */
  time: number;
}

/**
 * A string of its own with the characters of `s` (hex digits, labels, spaces, line ends: ASCII).
 * A slice of a larger string (a line of a key log) would keep that whole string alive.
 */
function ownCopy(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** Characters of pending lines beyond which they are decoded at once (memory: the table is smaller, repeats are kept once). */
const PENDING_CHARS_MAX = 8 * 1024 * 1024;

/**
 * Key-log lines read and checked, waiting to be decoded into a SecretTable, in the order read.
 * A text's well-formed lines are handed over one by one (`line`), where they are, until a line of
 * another shape (`addLine`) or the end of the text (`end`).
 */
export class PendingLines {
  private items: Pending[] = [];
  private chars = 0;
  /** The text being read, its well-formed lines not yet in `items`: offsets[0, count), keyChars characters. */
  private text = '';
  private time = 0;
  private offsets = new Int32Array(1024);
  private count = 0;
  private keyChars = 0;

  /** Whether lines wait. */
  get size(): number {
    return this.items.length;
  }

  /** Whether so many lines wait that they should be decoded now. */
  get full(): boolean {
    return this.chars > PENDING_CHARS_MAX;
  }

  /** A text is being read (at `time`). */
  begin(text: string, time: number): void {
    this.text = text;
    this.time = time;
  }

  /** A well-formed line of the text: text[start, end). */
  line(start: number, end: number): void {
    if (this.count + 2 > this.offsets.length) {
      const bigger = new Int32Array(this.offsets.length * 2);
      bigger.set(this.offsets);
      this.offsets = bigger;
    }
    this.offsets[this.count++] = start;
    this.offsets[this.count++] = end;
    this.keyChars += end - start;
  }

  /** Well-formed lines of the text in bulk: the (start, end) pairs at src[from, to), `chars` characters in all. */
  lines(src: Int32Array, from: number, to: number, chars: number): void {
    const need = this.count + to - from;
    if (need > this.offsets.length) {
      let n = this.offsets.length * 2;
      while (n < need) n *= 2;
      const bigger = new Int32Array(n);
      bigger.set(this.offsets.subarray(0, this.count));
      this.offsets = bigger;
    }
    this.offsets.set(src.subarray(from, to), this.count);
    this.count = need;
    this.keyChars += chars;
  }

  /**
   * Ends the run of well-formed lines (before a line of another shape, at the end of the text).
   * The text is kept when they make up most of it; else they are copied out (a large key log of a
   * few keys and much else is not kept whole).
   */
  close(): void {
    if (this.count === 0) return;
    let text = this.text;
    const offsets = this.offsets.slice(0, this.count);
    if (this.keyChars * 2 < text.length && text.length > 4096) {
      const lines: string[] = [];
      let at = 0;
      for (let i = 0; i < offsets.length; i += 2) {
        lines.push(text.slice(offsets[i]!, offsets[i + 1]!));
        const n = offsets[i + 1]! - offsets[i]!;
        offsets[i] = at;
        offsets[i + 1] = at + n;
        at += n + 1;
      }
      text = ownCopy(lines.join('\n'));
    }
    this.items.push({ text, offsets, slot: -1, time: this.time });
    this.chars += this.keyChars;
    this.count = 0;
    this.keyChars = 0;
  }

  /** The end of the text being read (which is no longer kept alive by this). */
  end(): void {
    this.close();
    this.text = '';
  }

  /** One line of another shape, checked: the secret of `slot` for client random `cr` (64 hex digits). */
  addLine(slot: number, cr: string, secretHex: string): void {
    this.close();
    const text = ownCopy(cr + secretHex);
    this.items.push({ text, offsets: null, slot, time: this.time });
    this.chars += text.length;
  }

  /** Decodes every pending line into `table`, in order; `onNew` hears of each client random new to it. */
  drain(table: SecretTable, onNew: (g: number, time: number) => void): void {
    const items = this.items;
    this.items = [];
    this.chars = 0;
    for (const p of items) {
      const text = p.text;
      const offsets = p.offsets;
      if (offsets === null) {
        const g = table.put(text.substring(0, 64), p.slot, text.substring(64), false);
        if (table.created) onNew(g, p.time);
        continue;
      }
      for (let i = 0; i < offsets.length; i += 2) {
        const g = putWellFormed(table, text, offsets[i]!, offsets[i + 1]!);
        if (g >= 0 && table.created) onNew(g, p.time);
      }
    }
  }
}

/** What `put` did. */
export const PUT_REPEATED = -1;

export class SecretTable {
  /** The secrets' bytes, one after the other. */
  private arena = Buffer.allocUnsafeSlow(16 * 1024);
  private used = 0;
  /** Arena bytes no longer referenced (replaced secrets, forgotten client randoms). */
  private dead = 0;
  /** Client random (lower-case hex) -> group. */
  private readonly groups = new Map<string, number>();
  /** Group -> its client random ('' for a free group). */
  private readonly randoms: string[] = [];
  private slotAt = new Int32Array(256 * SLOTS);
  private slotLen = new Int32Array(256 * SLOTS);
  private readonly cached: (SessionSecrets | undefined)[] = [];
  private readonly free: number[] = [];
  /** Whether the last `put` that stored created its client random's group. */
  created = false;

  /** Client randoms with at least one secret. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * Stores the secret of `slot` (secretHex: its hex digits, checked) for a client random
   * (crHex: 64 hex digits, checked, either case). Returns the client random's group, or
   * PUT_REPEATED when `skipRepeat` and the same secret is already the slot's (nothing stored).
   * The digits are decoded and compared natively (Buffer), not character by character.
   */
  put(crHex: string, slot: number, secretHex: string, skipRepeat: boolean): number {
    const key = crHex.toLowerCase();
    let g = this.groups.get(key);
    const n = secretHex.length >> 1;
    this.reserve(n);
    const at = this.used;
    const arena = this.arena;
    arena.write(secretHex, at, n, 'hex');
    if (g !== undefined && skipRepeat) {
      const i = g * SLOTS + slot;
      if (this.slotLen[i] === n && arena.compare(arena, this.slotAt[i]!, this.slotAt[i]! + n, at, at + n) === 0) return PUT_REPEATED;
    }
    this.created = g === undefined;
    if (g === undefined) g = this.newGroup(key);
    const i = g * SLOTS + slot;
    this.dead += this.slotLen[i]!;
    this.slotAt[i] = at;
    this.slotLen[i] = n;
    this.used = at + n;
    const c = this.cached[g];
    if (c !== undefined) setSlot(c, slot, this.copy(at, n));
    if (!this.created) this.compactIfWasteful();
    return g;
  }

  /** The secrets of a client random (64 hex digits, either case), made once and then kept. */
  get(clientRandomHex: string): SessionSecrets | undefined {
    const g = this.groups.get(clientRandomHex.toLowerCase());
    if (g === undefined) return undefined;
    let c = this.cached[g];
    if (c === undefined) {
      c = { masterSecret: null, preMasterSecret: null, tls13: {} };
      for (let slot = 0; slot < SLOTS; slot++) {
        const i = g * SLOTS + slot;
        if (this.slotLen[i]! > 0) setSlot(c, slot, this.copy(this.slotAt[i]!, this.slotLen[i]!));
      }
      this.cached[g] = c;
    }
    return c;
  }

  /** A group's client random as lower-case hex. */
  randomHex(g: number): string {
    return this.randoms[g]!;
  }

  /** Forgets a client random and its secrets (`g` from `put`); false when it was gone already. */
  remove(g: number): boolean {
    const key = this.randoms[g];
    if (key === undefined || key === '') return false;
    this.groups.delete(key);
    this.randoms[g] = '';
    for (let i = g * SLOTS; i < (g + 1) * SLOTS; i++) {
      this.dead += this.slotLen[i]!;
      this.slotLen[i] = 0;
    }
    this.cached[g] = undefined;
    this.free.push(g);
    return true;
  }

  /** Copies the live bytes to a new arena when the dead ones outweigh them (and are worth it). */
  compactIfWasteful(): void {
    if (this.dead < 64 * 1024 || this.dead * 2 < this.used) return;
    const old = this.arena;
    let size = 16 * 1024;
    while (size < 2 * (this.used - this.dead)) size *= 2;
    const arena = Buffer.allocUnsafeSlow(size);
    let o = 0;
    for (let i = 0; i < this.randoms.length * SLOTS; i++) {
      const n = this.slotLen[i]!;
      if (n === 0) continue;
      old.copy(arena, o, this.slotAt[i]!, this.slotAt[i]! + n);
      this.slotAt[i] = o;
      o += n;
    }
    this.arena = arena;
    this.used = o;
    this.dead = 0;
  }

  /** A secret handed out: a copy (it holds no arena alive). */
  private copy(at: number, n: number): Uint8Array {
    return new Uint8Array(this.arena.subarray(at, at + n));
  }

  /** Room for `n` more bytes at the end of the arena. */
  private reserve(n: number): void {
    if (this.used + n <= this.arena.length) return;
    let size = this.arena.length * 2;
    while (size < this.used + n) size *= 2;
    const arena = Buffer.allocUnsafeSlow(size);
    this.arena.copy(arena, 0, 0, this.used);
    this.arena = arena;
  }

  private newGroup(key: string): number {
    let g = this.free.pop();
    if (g === undefined) {
      g = this.randoms.length;
      this.randoms.push('');
      if ((g + 1) * SLOTS > this.slotAt.length) {
        const at = new Int32Array(this.slotAt.length * 2);
        at.set(this.slotAt);
        this.slotAt = at;
        const len = new Int32Array(this.slotLen.length * 2);
        len.set(this.slotLen);
        this.slotLen = len;
      }
    }
    // A key of its own: `key` may be a slice of a key log text, which it would keep alive.
    const own = Buffer.from(key, 'latin1').toString('latin1');
    this.randoms[g] = own;
    this.groups.set(own, g);
    return g;
  }
}

function setSlot(c: SessionSecrets, slot: number, secret: Uint8Array): void {
  if (slot === SLOT_MASTER) c.masterSecret = secret;
  else if (slot === SLOT_PMS) c.preMasterSecret = secret;
  else c.tls13[SLOT_LABELS[slot] as Tls13Label] = secret;
}
