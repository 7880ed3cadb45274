/**
 * HTTP/1.x push parser (RFC 9112), one instance per direction, in the style of llhttp: bytes are
 * pushed in whatever chunks TCP produced, events come out identically for any chunking.
 *
 * Why not llhttp itself: its wasm build is only shipped embedded in undici (not public API), and a
 * capture analyser needs what a server parser never does: resuming after a capture gap (skip the
 * missing body bytes when the framing says where the message ends, otherwise search for the next
 * start line), picking up a connection mid-stream, pausing after an Upgrade/CONNECT request until
 * the response says whether the protocol changed, and recording every leniency as a named anomaly
 * instead of failing.
 *
 *   message  = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
 *   body     = Content-Length bytes | chunked (hex-size [;ext] CRLF data CRLF ... 0 CRLF trailers CRLF)
 *            | (responses only) until the connection closes
 *
 * The head (start line + fields, and trailers) is copied into a growable buffer because it must be
 * seen whole; body bytes are only counted, never copied.
 */

import { TCHAR, returnHeadView, takeHeadView, type H1Head, type H1HeadView } from './h1-head.js';

/** Leniencies and oddities, each recorded by name when it happens (once per message). */
export const H1Anomaly = {
  BareLf: 'http1-bare-lf',
  ObsFold: 'http1-obs-fold',
  DuplicateContentLength: 'http1-duplicate-content-length',
  ContentLengthWithChunked: 'http1-content-length-with-transfer-encoding',
  SpaceBeforeColon: 'http1-space-before-colon',
  ControlCharInValue: 'http1-control-char-in-header-value',
  EmptyLinesBeforeMessage: 'http1-empty-lines-before-message',
  ExtraWhitespaceInStartLine: 'http1-extra-whitespace-in-start-line',
  ChunkExtension: 'http1-chunk-extension',
  Trailers: 'http1-trailers',
  TransferEncodingInHttp10: 'http1-transfer-encoding-in-http10',
  ResponseBodyUntilClose: 'http1-body-until-close',
  Resync: 'http1-resync',
  NotHttp: 'http1-not-http',
} as const;

/** Why a message was declared malformed (the parser's reason, llhttp-style stable strings). */
export const H1Error = {
  InvalidMethod: 'invalid-method',
  InvalidStartLine: 'invalid-start-line',
  InvalidVersion: 'invalid-version',
  InvalidStatus: 'invalid-status',
  InvalidHeaderName: 'invalid-header-name',
  HeaderWithoutColon: 'header-without-colon',
  HeadTooLarge: 'head-too-large',
  InvalidContentLength: 'invalid-content-length',
  ConflictingContentLength: 'conflicting-content-length',
  RequestTransferEncodingNotChunked: 'request-transfer-encoding-not-chunked',
  InvalidChunkSize: 'invalid-chunk-size',
  MissingChunkCrlf: 'missing-crlf-after-chunk',
  TrailersTooLarge: 'trailers-too-large',
} as const;

/** Returned by `onHeadersComplete` (bit flags, like llhttp's return codes). */
export const HeadAction = {
  Normal: 0,
  /** The message has no body whatever its fields say (HEAD responses, set by the caller). */
  NoBody: 1,
  /** After this message, buffer further bytes until `resume()` or `takePaused()` (Upgrade/CONNECT requests). */
  PauseAfter: 2,
  /** After this message the connection is no longer HTTP/1 in this direction (101, 2xx to CONNECT). */
  TunnelAfter: 4,
} as const;

export type { BodyKind, H1Head } from './h1-head.js';

export interface H1Handler {
  /** The first byte of a message (after any empty lines). */
  onMessageBegin(streamOffset: number, time: number, firstInChunk: boolean, prevPacketTime?: number): void;
  /** Returns the connection's previous-packet time now (kept when a message start is only recognised later). */
  probe?(): number;
  /** The head is complete; return HeadAction flags. */
  onHeadersComplete(head: H1Head, time: number): number;
  /** Body bytes (decoded: chunk framing excluded). */
  onBody(length: number, time: number): void;
  /** The message ended where its framing says; `time` is that of the chunk holding its last byte. */
  onMessageComplete(time: number): void;
  /** Missing bytes inside a message whose framing still tells where it ends. */
  onMessageGap(length: number): void;
  /** The current message cannot be completed ('gap' or 'end'); parsing continues by resync or stops. */
  onMessageAbort(why: 'gap' | 'end', time: number): void;
  /** The current message broke the grammar. The parser then searches for the next message start. */
  onError(reason: string, detail: string, streamOffset: number, time: number): void;
  onAnomaly(code: string, detail: string): void;
  /** Bytes after the message that switched protocols (Upgrade / CONNECT), in stream order. */
  onTunnelData?(bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void;
}

const S = {
  Start: 0,
  Head: 1,
  BodyLength: 2,
  ChunkSize: 3,
  ChunkData: 4,
  ChunkDataEnd: 5,
  Trailers: 6,
  BodyUntilClose: 7,
  Paused: 8,
  Tunnel: 9,
  Resync: 10,
  Done: 11,
} as const;
type S = (typeof S)[keyof typeof S];

const MAX_HEAD = 96 * 1024;
/** The initial (and released) head buffer of every parser: empty, so `append` replaces it before writing. */
const NO_BYTES = new Uint8Array(0);
const MAX_LINE_RESYNC = 16 * 1024;
const MAX_PAUSED = 256 * 1024;
/** A direction that never carried an HTTP/1 message is given up after this many bytes of searching. */
const GIVE_UP_AFTER = 1024 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const HTTP_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)( +)(\S+)( +)HTTP\/(\d)\.(\d) *\r?$/;
const STATUS_LINE = /^HTTP\/(\d)\.(\d)( +)(\d{3})(?: (.*))?\r?$/;
/** What a resync accepts as a message start: stricter than the parser (known methods only). */
const RESYNC_REQUEST =
  /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|REPORT|SEARCH|PURGE) \S+ HTTP\/1\.[01]\r?$/;
const RESYNC_RESPONSE = /^HTTP\/1\.[01] [1-5]\d\d( .*)?\r?$/;

export interface Http1ParserOptions {
  /**
   * Read well-formed heads from the bytes (default). False sends every head through the general
   * path (strings, regular expressions); the events are the same, only slower. For tests that
   * compare the two paths.
   */
  fastHeads?: boolean;
}

export interface PausedPiece {
  bytes: Uint8Array;
  streamOffset: number;
  time: number;
}

export class Http1Parser {
  readonly kind: 'request' | 'response';
  private readonly h: H1Handler;
  private state: S = S.Start;
  /** Head / line buffer: allocated on first use, released when a large head is done (bounded idle memory per connection). */
  private buf = NO_BYTES;
  private bufLen = 0;
  /** Bytes of the current line already checked for the start-line prefix. */
  private startLineChecked = 0;
  private remaining = 0;
  private action = 0;
  private flaggedBareLf = false;
  /** The current head line has a byte other than CR so far (false at a line start). */
  private lineHasContent = false;
  /** Scan state of the head being read: last byte, and whether it had a bare LF. */
  private prevHeadByte = -1;
  private headBareLf = false;
  /** Check field values for control bytes even if the head scan found none (after a resync). */
  private headCtlForced = false;
  private paused: PausedPiece[] = [];
  private pausedBytes = 0;
  private resyncSkipped = 0;
  private resyncFrom = 0;
  private resyncWhy = '';
  private resyncLineTime = 0;
  private resyncLineFirst = false;
  private resyncLinePrev = NaN;
  private resyncLineTooLong = false;
  private lastTime = 0;
  private lastOffset = 0;
  /** A message head has been parsed on this direction at least once. */
  private everParsed = false;
  /** True between onMessageBegin and onMessageComplete/onMessageAbort/onError. */
  inMessage = false;
  /** Bytes given to the tunnel after an upgrade / CONNECT. */
  tunnelBytes = 0;

  /** Whether well-formed heads take the fast path (off only to compare both paths in tests). */
  private readonly fastHeads: boolean;

  constructor(kind: 'request' | 'response', handler: H1Handler, options: Http1ParserOptions = {}) {
    this.kind = kind;
    this.h = handler;
    this.fastHeads = options.fastHeads ?? true;
  }

  get isPaused(): boolean {
    return this.state === S.Paused;
  }

  get isTunnel(): boolean {
    return this.state === S.Tunnel;
  }

  /**
   * Starts in resync mode: the connection was picked up mid-stream (or the caller otherwise knows
   * the next byte need not be a message start).
   */
  startResync(why: string, streamOffset: number): void {
    this.enterResync(why, streamOffset);
  }

  data(bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    this.lastTime = time;
    const end = offset + length;
    let p = offset;
    while (p < end) {
      const so = streamOffset + (p - offset);
      switch (this.state) {
        case S.Start: {
          const c = bytes[p]!;
          if (c === 0x0d || c === 0x0a) {
            this.h.onAnomaly(H1Anomaly.EmptyLinesBeforeMessage, '');
            p++;
            break;
          }
          this.beginMessage(so, time, p === offset);
          this.state = S.Head;
          break;
        }
        case S.Head:
        case S.Trailers: {
          p = this.readHead(bytes, p, end, so, time);
          break;
        }
        case S.BodyLength: {
          const n = Math.min(this.remaining, end - p);
          this.remaining -= n;
          p += n;
          this.h.onBody(n, time);
          if (this.remaining === 0) this.messageComplete(time);
          break;
        }
        case S.ChunkSize: {
          p = this.readChunkSize(bytes, p, end, so, time);
          break;
        }
        case S.ChunkData: {
          const n = Math.min(this.remaining, end - p);
          this.remaining -= n;
          p += n;
          this.h.onBody(n, time);
          if (this.remaining === 0) {
            this.state = S.ChunkDataEnd;
            this.bufLen = 0;
          }
          break;
        }
        case S.ChunkDataEnd: {
          const c = bytes[p]!;
          if (this.bufLen === 0 && c === 0x0d) {
            this.bufLen = 1;
            p++;
          } else if (c === 0x0a) {
            if (this.bufLen === 0) this.bareLf();
            this.bufLen = 0;
            this.state = S.ChunkSize;
            p++;
          } else {
            this.error(H1Error.MissingChunkCrlf, `byte 0x${c.toString(16).padStart(2, '0')} after chunk data`, so, time);
          }
          break;
        }
        case S.BodyUntilClose: {
          this.h.onBody(end - p, time);
          p = end;
          break;
        }
        case S.Paused: {
          if (this.pausedBytes < MAX_PAUSED) {
            const n = Math.min(end - p, MAX_PAUSED - this.pausedBytes);
            this.paused.push({ bytes: bytes.slice(p, p + n), streamOffset: so, time });
            this.pausedBytes += n;
          }
          p = end;
          break;
        }
        case S.Tunnel: {
          this.tunnelBytes += end - p;
          this.h.onTunnelData?.(bytes, p, end - p, so, time);
          p = end;
          break;
        }
        case S.Done: {
          p = end;
          break;
        }
        case S.Resync: {
          // A new delivery (a new segment) is a likely message start: drop a partial line that
          // cannot begin a start line (binary handshakes such as SOCKS carry no line end).
          if (p === offset && this.bufLen > 0 && !this.couldStartMessage()) {
            this.bufLen = 0;
            this.resyncLineTooLong = false;
          }
          p = this.resync(bytes, p, end, so, time, offset);
          break;
        }
      }
    }
    this.lastOffset = streamOffset + length;
  }

  gap(streamOffset: number, length: number, time: number): void {
    this.lastTime = time;
    this.lastOffset = streamOffset + length;
    switch (this.state) {
      case S.Start:
        this.enterResync('gap between messages', streamOffset + length);
        break;
      case S.BodyLength:
        if (length < this.remaining) {
          this.remaining -= length;
          this.h.onMessageGap(length);
        } else {
          const rest = length - this.remaining;
          this.h.onMessageGap(this.remaining);
          this.remaining = 0;
          this.messageComplete(time);
          if (rest > 0 && (this.state as S) === S.Start) this.enterResync('gap after a message end', streamOffset + length);
        }
        break;
      case S.ChunkData:
        if (length < this.remaining) {
          this.remaining -= length;
          this.h.onMessageGap(length);
        } else {
          this.abort('gap', time);
          this.enterResync('gap across chunk framing', streamOffset + length);
        }
        break;
      case S.BodyUntilClose:
        this.h.onMessageGap(length);
        break;
      case S.Head:
      case S.Trailers:
      case S.ChunkSize:
      case S.ChunkDataEnd:
        this.abort('gap', time);
        this.enterResync('gap inside message framing', streamOffset + length);
        break;
      case S.Resync:
        this.bufLen = 0;
        this.resyncSkipped += length;
        break;
      case S.Paused:
        this.pausedBytes = MAX_PAUSED; // stop buffering: the tunnel can no longer be replayed faithfully
        break;
      case S.Tunnel:
      case S.Done:
        break;
    }
  }

  /** The direction ended: a close-delimited body completes, anything else is aborted. */
  end(time: number): void {
    if (this.state === S.BodyUntilClose) {
      this.messageComplete(time);
    } else if (this.inMessage) {
      this.abort('end', time);
    }
    this.state = S.Done;
  }

  /** Leaves the paused state and parses the buffered bytes as HTTP/1 again. */
  resume(): void {
    if (this.state !== S.Paused) return;
    this.state = S.Start;
    const pieces = this.paused;
    this.paused = [];
    this.pausedBytes = 0;
    for (const piece of pieces) this.data(piece.bytes, 0, piece.bytes.length, piece.streamOffset, piece.time);
  }

  /** Leaves the paused state for good (the protocol changed) and returns the buffered bytes. */
  takePaused(): PausedPiece[] {
    const pieces = this.paused;
    this.paused = [];
    this.pausedBytes = 0;
    this.state = S.Tunnel;
    for (const p of pieces) this.tunnelBytes += p.bytes.length;
    return pieces;
  }

  /** Stops HTTP/1 parsing in this direction (the other side switched protocols). */
  tunnel(): void {
    if (this.inMessage) this.abort('end', this.lastTime);
    this.state = S.Tunnel;
  }

  // ---------------------------------------------------------------------------------------------

  private beginMessage(so: number, time: number, firstInChunk: boolean, prev?: number): void {
    this.inMessage = true;
    this.flaggedBareLf = false;
    this.bufLen = 0;
    this.startLineChecked = 0;
    this.lineHasContent = false;
    this.prevHeadByte = -1;
    this.headBareLf = false;
    this.headCtlForced = false;
    this.action = 0;
    this.h.onMessageBegin(so, time, firstInChunk, prev);
  }

  private bareLf(): void {
    if (!this.flaggedBareLf) {
      this.flaggedBareLf = true;
      this.h.onAnomaly(H1Anomaly.BareLf, 'line ended by LF without CR');
    }
  }

  private append(bytes: Uint8Array, from: number, to: number): boolean {
    const n = to - from;
    if (this.bufLen + n > MAX_HEAD) return false;
    if (this.bufLen + n > this.buf.length) {
      const nb = new Uint8Array(Math.min(MAX_HEAD + 1, Math.max(512, this.buf.length * 2, this.bufLen + n)));
      nb.set(this.buf.subarray(0, this.bufLen));
      this.buf = nb;
    }
    this.buf.set(bytes.subarray(from, to), this.bufLen);
    this.bufLen += n;
    return true;
  }

  /**
   * Accumulates head (or trailer) bytes until the empty line (a line with nothing but CRs before its
   * LF); returns the new position. Lines are found with `indexOf(LF)` (memchr), not byte by byte.
   * A head that arrives whole in one chunk is parsed where it lies, without copying.
   */
  private readHead(bytes: Uint8Array, p: number, end: number, so: number, time: number): number {
    if (this.fastHeads && this.state === S.Head && this.bufLen === 0 && this.startLineChecked === 0) {
      // A new head: if it is well formed and whole in this chunk, read it in one pass where it lies.
      const head = takeHeadView();
      const stop = head.readWellFormedHead(this.kind, bytes, p, end);
      if (stop > 0 && stop - p <= MAX_HEAD) {
        head.headBytes = stop - p;
        this.headComplete(head, so + (stop - p), time);
        return stop;
      }
      returnHeadView(head);
    }
    let stop = -1;
    let hasContent = this.lineHasContent;
    let i = p;
    while (i < end) {
      const lf = findLf(bytes, i, end);
      if (lf < 0) {
        if (!hasContent) hasContent = !onlyCrs(bytes, i, end);
        break;
      }
      const before = lf > p ? bytes[lf - 1]! : this.prevHeadByte;
      if (before !== 0x0d) this.headBareLf = true;
      if (!hasContent && onlyCrs(bytes, i, lf)) {
        stop = lf + 1;
        break;
      }
      hasContent = false;
      i = lf + 1;
    }
    const to = stop === -1 ? end : stop;
    this.lineHasContent = stop === -1 ? hasContent : false;
    if (to > p) this.prevHeadByte = bytes[to - 1]!;
    if (this.state === S.Head && !this.checkStartLinePrefix(bytes, p, to, so, time)) return to;
    const headEndSo = so + (to - p);
    if (!this.append(bytes, p, to)) {
      if (this.state === S.Trailers) this.error(H1Error.TrailersTooLarge, `trailers exceed ${MAX_HEAD} bytes`, so, time);
      else this.error(H1Error.HeadTooLarge, `head exceeds ${MAX_HEAD} bytes`, so, time);
      return to;
    }
    if (stop === -1) return end;
    if (this.state === S.Head) this.finishHead(this.buf, 0, this.bufLen, headEndSo, time);
    else this.finishTrailers(time);
    return stop;
  }

  /**
   * Rejects a message whose first line cannot be a start line as soon as that is certain, so that
   * junk (or a non-HTTP protocol) is not buffered up to the head limit.
   */
  private checkStartLinePrefix(bytes: Uint8Array, p: number, to: number, so: number, time: number): boolean {
    if (this.startLineChecked < 0) return true;
    for (let i = p; i < to; i++) {
      const k = this.startLineChecked++;
      const c = bytes[i]!;
      if (c === 0x0a) {
        this.startLineChecked = -1;
        return true;
      }
      if (this.kind === 'response') {
        if (k < HTTP_PREFIX.length && c !== HTTP_PREFIX[k]) {
          this.error(H1Error.InvalidStartLine, 'response does not start with HTTP/', so + (i - p), time);
          return false;
        }
      } else if (c === 0x20) {
        if (k === 0) {
          this.error(H1Error.InvalidMethod, 'empty method', so + (i - p), time);
          return false;
        }
        this.startLineChecked = -1;
        return true;
      } else if (!TCHAR[c] || k > 32) {
        this.error(H1Error.InvalidMethod, k > 32 ? 'method longer than 32 bytes' : `byte 0x${c.toString(16).padStart(2, '0')} in method`, so + (i - p), time);
        return false;
      }
      if (k > 8192) {
        this.error(H1Error.InvalidStartLine, 'start line longer than 8192 bytes', so + (i - p), time);
        return false;
      }
    }
    return true;
  }

  /** The head (or trailers) in src[from, to) as lines without their line ends, the empty last line dropped. */
  private splitLines(src: Uint8Array, from: number, to: number): string[] {
    const text = Buffer.from(src.buffer, src.byteOffset + from, to - from).toString('latin1');
    if (!this.headBareLf) {
      // Every line ended in CRLF (checked while reading): split on it directly.
      const lines = text.split('\r\n');
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      return lines;
    }
    const raw = text.split('\n');
    raw.pop(); // after the final LF
    const lines: string[] = [];
    for (const l of raw) {
      if (l.endsWith('\r')) lines.push(l.slice(0, -1));
      else {
        this.bareLf();
        lines.push(l);
      }
    }
    // Drop the empty line that ended the head.
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /**
   * The general path for field lines (strings): names every leniency. `checkControlBytes` is set
   * when the head holds a control byte other than CR/LF (or was not scanned), so that well-formed
   * values are not scanned twice.
   */
  private parseFields(lines: string[], from: number, fields: string[], checkControlBytes: boolean, so: number, time: number): boolean {
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.length === 0) continue;
      const c0 = line.charCodeAt(0);
      if (c0 === 0x20 || c0 === 0x09) {
        if (fields.length === 0) {
          this.error(H1Error.InvalidHeaderName, 'continuation line before any field', so, time);
          return false;
        }
        this.h.onAnomaly(H1Anomaly.ObsFold, fields[fields.length - 2]!);
        fields[fields.length - 1] = `${fields[fields.length - 1]!} ${line.trim()}`.trim();
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.error(H1Error.HeaderWithoutColon, line.slice(0, 64), so, time);
        return false;
      }
      let name = line.slice(0, colon);
      if (name.endsWith(' ') || name.endsWith('\t')) {
        this.h.onAnomaly(H1Anomaly.SpaceBeforeColon, name.trim());
        name = name.trimEnd();
      }
      if (!TOKEN.test(name)) {
        let k = 0;
        while (k < name.length && TCHAR[name.charCodeAt(k)]) k++;
        this.error(H1Error.InvalidHeaderName, `byte 0x${name.charCodeAt(k).toString(16).padStart(2, '0')} in field name`, so, time);
        return false;
      }
      // Trim OWS and look for control characters in one pass.
      let a = colon + 1;
      let b = line.length;
      while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
      while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
      if (checkControlBytes) {
        for (let k = a; k < b; k++) {
          const c = line.charCodeAt(k);
          if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
            this.h.onAnomaly(H1Anomaly.ControlCharInValue, name);
            break;
          }
        }
      }
      fields.push(name, line.slice(a, b));
    }
    return true;
  }

  /** Whether the head (or trailers) in src[from, to) needs its values checked for control bytes. */
  private needsControlCheck(src: Uint8Array, from: number, to: number): boolean {
    return this.headCtlForced || hasControlByte(src, from, to);
  }

  /**
   * The head is in src[from, to): take the fast path for a well-formed head, else the general one
   * (start line by regular expression, fields as strings), then decide the framing.
   */
  private finishHead(src: Uint8Array, from: number, to: number, so: number, time: number): void {
    const head = takeHeadView();
    if (this.headBareLf || !this.fastHeads || head.readWellFormedHead(this.kind, src, from, to) !== to) {
      head.reset();
      if (!this.readHeadGeneral(head, src, from, to, so, time)) {
        returnHeadView(head);
        return;
      }
    }
    head.headBytes = to - from;
    this.headComplete(head, so, time);
  }

  /** The head view is filled: decide the framing, hand it to the handler, go on to the body. */
  private headComplete(head: H1HeadView, so: number, time: number): void {
    if (!this.decideFraming(head, so, time)) {
      returnHeadView(head);
      return;
    }
    this.everParsed = true;
    this.action = this.h.onHeadersComplete(head, time);
    if (this.action & HeadAction.NoBody) head.bodyKind = 'none';
    const bodyKind = head.bodyKind;
    const contentLength = head.contentLength;
    returnHeadView(head); // emptied: no reference to the message bytes (they may be the caller's chunk)
    this.bufLen = 0;
    switch (bodyKind) {
      case 'none':
        this.messageComplete(time);
        break;
      case 'length':
        this.remaining = contentLength;
        this.state = S.BodyLength;
        break;
      case 'chunked':
        this.state = S.ChunkSize;
        break;
      case 'until-close':
        this.h.onAnomaly(H1Anomaly.ResponseBodyUntilClose, '');
        this.state = S.BodyUntilClose;
        break;
    }
  }

  /** The general path: start line by regular expression, fields as strings, every leniency named. */
  private readHeadGeneral(head: H1HeadView, src: Uint8Array, from: number, to: number, so: number, time: number): boolean {
    const lines = this.splitLines(src, from, to);
    const first = lines[0] ?? '';
    if (this.kind === 'request') {
      const m = REQUEST_LINE.exec(first);
      if (!m) {
        const bad = /HTTP\/\d\.\d$/.test(first) ? H1Error.InvalidStartLine : /\sHTTP\/\S*$/.test(first) ? H1Error.InvalidVersion : H1Error.InvalidStartLine;
        this.error(bad, first.slice(0, 80), so, time);
        return false;
      }
      if (m[2]!.length > 1 || m[4]!.length > 1) this.h.onAnomaly(H1Anomaly.ExtraWhitespaceInStartLine, '');
      head.method = m[1]!;
      head.target = m[3]!;
      head.versionMajor = Number(m[5]);
      head.versionMinor = Number(m[6]);
    } else {
      const m = STATUS_LINE.exec(first);
      if (!m) {
        this.error(/^HTTP\/\d\.\d /.test(first) ? H1Error.InvalidStatus : H1Error.InvalidVersion, first.slice(0, 80), so, time);
        return false;
      }
      if (m[3]!.length > 1) this.h.onAnomaly(H1Anomaly.ExtraWhitespaceInStartLine, '');
      head.versionMajor = Number(m[1]);
      head.versionMinor = Number(m[2]);
      head.status = Number(m[4]);
      head.reason = m[5] ?? '';
    }
    if (head.versionMajor !== 1) {
      this.error(H1Error.InvalidVersion, `HTTP/${head.versionMajor}.${head.versionMinor}`, so, time);
      return false;
    }
    const fields: string[] = [];
    if (!this.parseFields(lines, 1, fields, this.needsControlCheck(src, from, to), so, time)) return false;
    head.useStrings(fields);
    return true;
  }

  /** Message framing from the fields (RFC 9112 section 6); false after reporting an error. */
  private decideFraming(head: H1HeadView, so: number, time: number): boolean {
    let cl = -1;
    let te: string | null = null;
    let connClose = false;
    let connKeepAlive = false;
    let connUpgrade = false;
    let upgrade: string | null = null;
    for (let i = 0; i < head.fieldCount; i++) {
      // Only names of the lengths of the framing fields need a case-insensitive comparison.
      switch (head.fieldNameLength(i)) {
        case 14: {
          if (!head.fieldNameIs(i, 'content-length')) break;
          // One number (the usual case) without making a string; a list goes the general way.
          const digits = head.fieldDigits(i);
          for (const x of digits >= 0 ? [digits] : contentLengthParts(head.fieldValue(i))) {
            if (x < 0) {
              this.error(H1Error.InvalidContentLength, head.fieldValue(i).slice(0, 40), so, time);
              return false;
            }
            if (cl !== -1) {
              if (cl !== x) {
                this.error(H1Error.ConflictingContentLength, `${cl} and ${x}`, so, time);
                return false;
              }
              this.h.onAnomaly(H1Anomaly.DuplicateContentLength, String(x));
            }
            cl = x;
          }
          break;
        }
        case 17: {
          if (!head.fieldNameIs(i, 'transfer-encoding')) break;
          const v = head.fieldValue(i);
          te = te === null ? v : `${te}, ${v}`;
          break;
        }
        case 10: {
          if (!head.fieldNameIs(i, 'connection')) break;
          // The two usual values are compared as bytes; anything else is split into tokens.
          if (head.fieldValueIs(i, 'keep-alive')) connKeepAlive = true;
          else if (head.fieldValueIs(i, 'close')) connClose = true;
          else {
            for (const tok of head.fieldValue(i).toLowerCase().split(',')) {
              const t = tok.trim();
              if (t === 'close') connClose = true;
              else if (t === 'keep-alive') connKeepAlive = true;
              else if (t === 'upgrade') connUpgrade = true;
            }
          }
          break;
        }
        case 7: {
          if (head.fieldNameIs(i, 'upgrade')) upgrade = head.fieldValue(i);
          break;
        }
      }
    }
    head.contentLength = cl;
    head.close = connClose || (head.versionMinor === 0 && !connKeepAlive);
    head.upgrade = connUpgrade && upgrade !== null ? upgrade : null;

    if (te !== null) {
      const codings = te.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      const chunked = codings[codings.length - 1] === 'chunked';
      if (head.versionMinor === 0) this.h.onAnomaly(H1Anomaly.TransferEncodingInHttp10, te.slice(0, 40));
      if (cl !== -1) this.h.onAnomaly(H1Anomaly.ContentLengthWithChunked, `Content-Length ${cl} ignored`);
      if (chunked) head.bodyKind = 'chunked';
      else if (this.kind === 'request') {
        this.error(H1Error.RequestTransferEncodingNotChunked, te.slice(0, 40), so, time);
        return false;
      } else head.bodyKind = 'until-close';
    } else if (cl !== -1) {
      head.bodyKind = cl > 0 ? 'length' : 'none';
    } else {
      head.bodyKind = this.kind === 'request' ? 'none' : 'until-close';
    }
    if (this.kind === 'response' && ((head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304)) {
      head.bodyKind = 'none';
    }
    return true;
  }

  private readChunkSize(bytes: Uint8Array, p: number, end: number, so: number, time: number): number {
    let i = p;
    while (i < end && bytes[i] !== 0x0a) i++;
    const to = i < end ? i + 1 : end;
    if (this.bufLen + (to - p) > 1024) {
      this.error(H1Error.InvalidChunkSize, 'chunk-size line longer than 1024 bytes', so, time);
      return to;
    }
    this.append(bytes, p, to);
    if (i === end) return end;
    let line = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.bufLen - 1).toString('latin1');
    this.bufLen = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    else this.bareLf();
    const semi = line.indexOf(';');
    if (semi >= 0) {
      this.h.onAnomaly(H1Anomaly.ChunkExtension, line.slice(semi + 1, semi + 41));
      line = line.slice(0, semi);
    }
    line = line.replace(/[ \t]+$/, '');
    if (!/^[0-9a-fA-F]{1,12}$/.test(line)) {
      this.error(H1Error.InvalidChunkSize, JSON.stringify(line.slice(0, 20)), so, time);
      return to;
    }
    const size = parseInt(line, 16);
    if (size === 0) {
      this.state = S.Trailers;
      this.bufLen = 0;
      this.lineHasContent = false;
      this.prevHeadByte = -1;
      this.headBareLf = false;
      this.headCtlForced = false;
    } else {
      this.remaining = size;
      this.state = S.ChunkData;
    }
    return to;
  }

  private finishTrailers(time: number): void {
    const lines = this.splitLines(this.buf, 0, this.bufLen);
    if (lines.length > 0) {
      const fields: string[] = [];
      if (!this.parseFields(lines, 0, fields, this.needsControlCheck(this.buf, 0, this.bufLen), this.lastOffset, time)) return;
      this.h.onAnomaly(H1Anomaly.Trailers, fields.filter((_, k) => k % 2 === 0).join(',').slice(0, 80));
    }
    this.bufLen = 0;
    this.messageComplete(time);
  }

  private messageComplete(time: number): void {
    this.inMessage = false;
    this.bufLen = 0;
    if (this.buf.length > 16384) this.buf = NO_BYTES;
    this.state = S.Start;
    const action = this.action;
    this.action = 0;
    this.h.onMessageComplete(time);
    if ((this.state as S) !== S.Start) return; // the handler changed it (tunnel/pause from the other side)
    if (action & HeadAction.TunnelAfter) this.state = S.Tunnel;
    else if (action & HeadAction.PauseAfter) this.state = S.Paused;
  }

  private abort(why: 'gap' | 'end', time: number): void {
    this.inMessage = false;
    this.action = 0;
    this.h.onMessageAbort(why, time);
  }

  private error(reason: string, detail: string, so: number, time: number): void {
    this.inMessage = false;
    this.action = 0;
    this.h.onError(reason, detail, so, time);
    this.enterResync(`after ${reason}`, so);
  }

  private enterResync(why: string, so: number): void {
    this.state = S.Resync;
    this.bufLen = 0;
    this.resyncSkipped = 0;
    this.resyncFrom = so;
    this.resyncWhy = why;
    this.resyncLineTooLong = false;
  }

  /** Whether the partial line buffered in resync mode could still become a start line. */
  private couldStartMessage(): boolean {
    const n = Math.min(this.bufLen, 24);
    const b = this.buf;
    if (this.kind === 'response') {
      for (let i = 0; i < n && i < 7; i++) if (b[i] !== 'HTTP/1.'.charCodeAt(i)) return false;
      return true;
    }
    for (let i = 0; i < n; i++) {
      const c = b[i]!;
      if (c === 0x20) return i > 0;
      if (c < 0x41 || c > 0x5a) return false;
    }
    return n < 24;
  }

  /**
   * Searches line by line for something that is certainly a message start (a known method and
   * HTTP/1.x, or an HTTP/1.x status line); bytes before it are skipped and reported.
   */
  private resync(bytes: Uint8Array, p: number, end: number, so: number, time: number, chunkStart: number): number {
    let i = p;
    while (i < end && bytes[i] !== 0x0a) i++;
    const to = i < end ? i + 1 : end;
    const lineStart = so - this.bufLen;
    if (this.bufLen === 0 && !this.resyncLineTooLong) {
      this.resyncLineTime = time;
      this.resyncLineFirst = p === chunkStart;
      this.resyncLinePrev = this.h.probe ? this.h.probe() : NaN;
    }
    if (!this.resyncLineTooLong) {
      if (this.bufLen + (to - p) > MAX_LINE_RESYNC) {
        // Too long to be a start line: drop it (and a buffer grown for it).
        this.resyncLineTooLong = true;
        this.bufLen = 0;
        if (this.buf.length > 16384) this.buf = NO_BYTES;
      } else this.append(bytes, p, to);
    }
    if (!this.everParsed && so + (to - p) - this.resyncFrom > GIVE_UP_AFTER) {
      // Never a message on this direction and nothing that looks like one: not HTTP/1.
      this.h.onAnomaly(H1Anomaly.NotHttp, `no HTTP/1 message start in the first ${GIVE_UP_AFTER} bytes`);
      this.state = S.Done;
      this.bufLen = 0;
      this.buf = NO_BYTES;
      return end;
    }
    if (i === end) return end;
    if (this.resyncLineTooLong) {
      this.resyncLineTooLong = false;
      this.bufLen = 0;
      return to;
    }
    const len = Math.min(this.bufLen, MAX_LINE_RESYNC);
    const line = Buffer.from(this.buf.buffer, this.buf.byteOffset, Math.max(0, len - 1)).toString('latin1');
    const re = this.kind === 'request' ? RESYNC_REQUEST : RESYNC_RESPONSE;
    if (len > 0 && re.test(line)) {
      const lineBytes = this.buf.slice(0, len);
      const skipped = lineStart - this.resyncFrom + this.resyncSkipped;
      if (skipped > 0 || this.resyncWhy !== '') {
        this.h.onAnomaly(H1Anomaly.Resync, `${this.resyncWhy}: skipped ${skipped} bytes, resumed at stream offset ${lineStart}`);
      }
      this.bufLen = 0;
      this.state = S.Start;
      this.beginMessage(lineStart, this.resyncLineTime, this.resyncLineFirst, this.resyncLinePrev);
      this.state = S.Head;
      this.startLineChecked = -1;
      this.lineHasContent = false;
      this.prevHeadByte = 0x0a;
      this.headBareLf = len < 2 || lineBytes[len - 2] !== 0x0d;
      this.headCtlForced = true; // the line was not scanned: let parseFields look
      this.append(lineBytes, 0, lineBytes.length);
      return to;
    }
    this.bufLen = 0;
    return to;
  }
}

/** The offset of the first LF in bytes[from, end), or -1 (memchr through indexOf). */
function findLf(bytes: Uint8Array, from: number, end: number): number {
  // indexOf searches to the end of the array: bound it when the chunk is a small part of a large buffer.
  const lf = bytes.length - end > 4096 ? bytes.subarray(0, end).indexOf(0x0a, from) : bytes.indexOf(0x0a, from);
  return lf < end ? lf : -1;
}

/** Whether bytes[from, to) holds nothing but CRs (true when empty). */
function onlyCrs(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x0d) return false;
  return true;
}

/** Whether bytes[from, to) holds a control byte other than CR and LF (HTAB is not one). */
function hasControlByte(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c !== 0x0d && c !== 0x0a && ((c < 0x20 && c !== 0x09) || c === 0x7f)) return true;
  }
  return false;
}

/**
 * The numbers of a Content-Length list ("5, 5"), in order, up to and including -1 for the first
 * element that is not 1 to 15 digits (the caller reports it after any earlier conflict).
 */
function contentLengthParts(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (!/^\d{1,15}$/.test(t)) {
      out.push(-1);
      break;
    }
    out.push(Number(t));
  }
  return out;
}
