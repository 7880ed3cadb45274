/**
 * HTTP/1.x over one connection: two Http1Parsers (client → server requests, server → client
 * responses) paired first-in first-out, which is what keep-alive and pipelining require
 * (RFC 9112 section 9.3.2: responses come in request order).
 *
 * Interim responses (1xx) attach to the oldest unanswered request without consuming it. A request
 * with Upgrade (or a CONNECT) pauses request parsing until its response: 101 (or 2xx to CONNECT)
 * switches the connection (WebSocket/CONNECT become an opaque tunnel, h2c hands over to HTTP/2),
 * anything else resumes HTTP/1.
 */
import type { ConnInfo, Direction, EndReason } from '../flow/stream.js';
import { H1Anomaly, H1Error, HeadAction, Http1Parser, type H1Handler, type H1Head, type PausedPiece } from './h1-parser.js';
import {
  addAnomaly,
  endedByOf,
  finishTimes,
  idleBefore,
  newTransaction,
  txEndpoints,
  addSelectedHeader,
  selectedHeadersOfLength,
  capValue,
  capPath,
  type HttpTransaction,
  type SelectedHeaderName,
  type TxEndpoints,
} from './transaction.js';

export interface H1Context {
  conn: ConnInfo;
  tls: boolean;
  /** Allocates the next request index on the connection (shared with HTTP/2 after an h2c upgrade). */
  nextIndex(): number;
  emit(tx: HttpTransaction): void;
  /** Bytes after a protocol switch (Upgrade / CONNECT) in either direction. */
  tunnelData(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void;
  /** Called after a 101 to an `Upgrade: h2c` request: HTTP/2 takes over with the buffered client bytes. */
  switchToH2c(upgradeTx: HttpTransaction, clientPending: PausedPiece[]): void;
}

/** Errors that mean "this is not the start of an HTTP/1 message" rather than "a broken message". */
const START_LINE_ERRORS = new Set<string>([H1Error.InvalidMethod, H1Error.InvalidStartLine, H1Error.InvalidVersion, H1Error.InvalidStatus]);

interface Pending {
  tx: HttpTransaction;
  requestDone: boolean;
  responseDone: boolean;
}

export class Http1Connection {
  private readonly ctx: H1Context;
  readonly req: Http1Parser;
  readonly res: Http1Parser;
  /** Requests in order; the head is the one the next response answers. */
  private queue: Pending[] = [];
  /** The request being parsed (not yet in the queue until its head is complete). */
  private curReq: Pending | null = null;
  private reqBeginTime = 0;
  private reqBeginIdle: number | null = null;
  /** The response being parsed and its request. */
  private curRes: Pending | null = null;
  private resBeginTime = 0;
  private seenRequest = false;
  private seenResponse = false;
  private ended: [EndReason | null, EndReason | null] = [null, null];
  private endTime = [0, 0];
  private readonly pendingAnomalies: [string[], string[]] = [[], []];
  private closed = false;
  /** Set when a capture gap may have swallowed whole messages: FIFO pairing is no longer certain. */
  private pairingUncertain = false;
  switched = false;
  /** Made once: every transaction on the connection shares these strings. */
  private readonly ends: TxEndpoints;

  constructor(ctx: H1Context) {
    this.ctx = ctx;
    this.ends = txEndpoints(ctx.conn);
    this.req = new Http1Parser('request', new RequestEvents(this));
    this.res = new Http1Parser('response', new ResponseEvents(this));
  }

  data(dir: Direction, bytes: Uint8Array, offset: number, length: number, streamOffset: number, time: number): void {
    (dir === 0 ? this.req : this.res).data(bytes, offset, length, streamOffset, time);
  }

  gap(dir: Direction, streamOffset: number, length: number, time: number): void {
    const p = dir === 0 ? this.curReq : this.curRes;
    if (p) addAnomaly(p.tx, 'capture-gap');
    else this.pendingAnomalies[dir].push('capture-gap');
    (dir === 0 ? this.req : this.res).gap(streamOffset, length, time);
  }

  end(dir: Direction, reason: EndReason, time: number): void {
    if (this.ended[dir] === null) {
      this.ended[dir] = reason;
      this.endTime[dir] = time;
    }
    (dir === 0 ? this.req : this.res).end(time);
    if (this.ended[0] !== null && this.ended[1] !== null) this.flush();
  }

  /** Emits everything still open (the connection ended or switched protocols). */
  flush(): void {
    if (this.closed) return;
    this.closed = true;
    const all = this.queue.slice();
    if (this.curReq && !all.includes(this.curReq)) all.push(this.curReq);
    this.queue = [];
    this.curReq = null;
    this.curRes = null;
    for (const p of all) this.finalize(p, true);
  }

  private endInfo(): { by: 'rst' | 'fin' | 'capture-end'; dir: 'client' | 'server' | null } {
    const [c, s] = this.ended;
    if (s === 'rst' || c === 'rst') return { by: 'rst', dir: s === 'rst' && (c !== 'rst' || this.endTime[1] <= this.endTime[0]) ? 'server' : 'client' };
    if (s === 'fin') return { by: 'fin', dir: 'server' };
    if (c === 'fin') return { by: 'fin', dir: 'client' };
    if (s !== null || c !== null) return { by: endedByOf((s ?? c)!) as 'capture-end', dir: null };
    return { by: 'capture-end', dir: null };
  }

  private finalize(p: Pending, atEnd: boolean): void {
    const tx = p.tx;
    if (atEnd && tx.outcome !== 'malformed') {
      if (tx.status === null) {
        if (tx.outcome === 'complete') tx.outcome = 'no-response';
        const e = this.endInfo();
        tx.endedBy = e.by;
        tx.endedByDirection = e.dir;
      } else if (!p.responseDone || !p.requestDone) {
        tx.outcome = 'incomplete';
        const e = this.endInfo();
        tx.endedBy = e.by;
        tx.endedByDirection = e.dir;
      }
    }
    finishTimes(tx);
    this.ctx.emit(tx);
  }

  private maybeDone(p: Pending): void {
    if (p.requestDone && p.responseDone) {
      const i = this.queue.indexOf(p);
      if (i >= 0) this.queue.splice(i, 1);
      this.finalize(p, false);
      if (this.queue.length === 0 && this.curReq === null && !this.req.inMessage && !this.res.inMessage) this.pairingUncertain = false;
    }
  }

  private newPending(): Pending {
    const tx = newTransaction(this.ctx.conn, this.ctx.nextIndex(), '1.1', this.ctx.tls ? 'https' : 'http', this.ends);
    const p: Pending = { tx, requestDone: false, responseDone: false };
    if (this.pendingAnomalies[0].length > 0) {
      for (const a of this.pendingAnomalies[0]) addAnomaly(tx, a);
      this.pendingAnomalies[0] = [];
    }
    return p;
  }

  /** Copies the selected fields (SELECTED_HEADERS) into the transaction; no string is made for the others. */
  private applyHead(tx: HttpTransaction, head: H1Head, into: 'requestHeaders' | 'responseHeaders'): void {
    for (let i = 0; i < head.fieldCount; i++) {
      const candidates = selectedHeadersOfLength(head.fieldNameLength(i));
      if (candidates === undefined) continue;
      for (const name of candidates) {
        if (head.fieldNameIs(i, name)) {
          addSelectedHeader(tx[into], name, recentOrNewValue(head, i, name));
          break;
        }
      }
    }
  }

  // Events of the request parser, called through RequestEvents (public for that class only, not API).
  requestMessageBegin(_so: number, time: number, firstInChunk: boolean, prev?: number): void {
    this.reqBeginTime = time;
    this.reqBeginIdle = idleBefore(this.ctx.conn, time, firstInChunk, prev);
  }

  requestProbe(): number {
    return this.ctx.conn.previousPacketTime;
  }

  requestHeadersComplete(head: H1Head, _time: number): number {
    const p = this.newPending();
    const tx = p.tx;
    tx.requestFirstByteTime = this.reqBeginTime;
    tx.idleBeforeRequestSeconds = this.reqBeginIdle;
    tx.httpVersion = versionString(head);
    tx.method = capValue(head.method);
    tx.path = capPath(head.target);
    this.applyHead(tx, head, 'requestHeaders');
    tx.authority = tx.requestHeaders.host ?? null;
    if (head.upgrade !== null) tx.upgrade = capValue(head.upgrade);
    this.seenRequest = true;
    this.curReq = p;
    this.queue.push(p);
    let action = HeadAction.Normal;
    if (head.method === 'CONNECT') {
      action |= HeadAction.PauseAfter | HeadAction.NoBody;
      tx.upgrade = 'CONNECT';
    } else if (head.upgrade !== null) action |= HeadAction.PauseAfter;
    return action;
  }

  requestBody(n: number, time: number): void {
    if (!this.curReq) return;
    this.curReq.tx.requestBodyBytes += n;
    this.curReq.tx.requestLastByteTime = time;
  }

  requestMessageComplete(time: number): void {
    const p = this.curReq;
    if (!p) return;
    this.curReq = null;
    p.tx.requestLastByteTime = time;
    p.requestDone = true;
    this.maybeDone(p);
  }

  requestMessageGap(n: number): void {
    if (!this.curReq) return;
    this.curReq.tx.requestBodyBytes += n;
    this.curReq.tx.outcome = 'incomplete';
  }

  requestMessageAbort(why: 'gap' | 'end', time: number): void {
    const p = this.curReq;
    this.curReq = null;
    if (!p) return; // the head was not complete: nothing to report
    p.tx.requestLastByteTime ??= time;
    if (why === 'gap') p.tx.outcome = 'incomplete';
    p.requestDone = true;
    addAnomaly(p.tx, why === 'gap' ? 'request-cut-by-gap' : 'request-cut-by-end');
    if (p.tx.outcome !== 'malformed') p.tx.outcome = 'incomplete';
    this.maybeDone(p);
  }

  requestError(reason: string, _detail: string, _so: number, time: number): void {
    if (!this.seenRequest && this.curReq === null && START_LINE_ERRORS.has(reason)) {
      // Not a request at the start of what we saw: mid-stream pickup or not HTTP. Resync quietly.
      this.pendingAnomalies[0].push('http1-not-at-message-start');
      return;
    }
    let p = this.curReq;
    if (!p) {
      p = this.newPending();
      p.tx.requestFirstByteTime = this.reqBeginTime;
      p.tx.idleBeforeRequestSeconds = this.reqBeginIdle;
      this.queue.push(p);
    }
    this.curReq = null;
    p.tx.outcome = 'malformed';
    p.tx.malformedReason = `request: ${reason}`;
    p.tx.requestLastByteTime = time;
    p.requestDone = true;
    this.maybeDone(p);
  }

  requestTunnelData(b: Uint8Array, o: number, l: number, so: number, t: number): void {
    this.ctx.tunnelData(0, b, o, l, so, t);
  }

  requestAnomaly(code: string, detail: string): void {
    if (code === H1Anomaly.Resync && detail.includes('gap')) this.pairingUncertain = true;
    if (this.curReq) addAnomaly(this.curReq.tx, code);
    else if (!this.pendingAnomalies[0].includes(code)) this.pendingAnomalies[0].push(code);
  }

  // Events of the response parser, called through ResponseEvents (public for that class only, not API).
  responseMessageBegin(_so: number, time: number): void {
    this.resBeginTime = time;
  }

  responseHeadersComplete(head: H1Head, time: number): number {
    this.seenResponse = true;
    const interim = head.status >= 100 && head.status < 200 && head.status !== 101;
    let p = this.queue.find((q) => !q.responseDone) ?? null;
    // A response cannot begin before its request did: then its request was never seen.
    if (p !== null && p.tx.requestFirstByteTime !== null && this.resBeginTime < p.tx.requestFirstByteTime) p = null;
    if (p === null) {
      // A response with no request seen: the capture started mid-connection or lost the request.
      p = this.newPending();
      addAnomaly(p.tx, 'http1-response-without-request');
      p.tx.outcome = 'incomplete';
      p.requestDone = true;
      this.queue.push(p);
    }
    const tx = p.tx;
    if (this.pendingAnomalies[1].length > 0) {
      for (const a of this.pendingAnomalies[1]) addAnomaly(tx, a);
      this.pendingAnomalies[1] = [];
    }
    if (interim) {
      tx.interimStatuses.push(head.status);
      tx.responseFirstByteTime ??= this.resBeginTime;
      return HeadAction.Normal;
    }
    this.curRes = p;
    if (this.pairingUncertain) addAnomaly(tx, 'http1-pairing-uncertain');
    tx.status = head.status;
    tx.responseHeadBytes = head.headBytes;
    tx.responseContentLength = head.bodyKind === 'length' && head.contentLength >= 0 ? head.contentLength : null;
    tx.responseFirstByteTime ??= this.resBeginTime;
    tx.responseLastByteTime = time;
    if (tx.method === null) tx.httpVersion = versionString(head);
    this.applyHead(tx, head, 'responseHeaders');
    let action = HeadAction.Normal;
    if (tx.method === 'HEAD') action |= HeadAction.NoBody;
    if (head.status === 101) {
      action |= HeadAction.NoBody | HeadAction.TunnelAfter;
    } else if (tx.method === 'CONNECT' && head.status >= 200 && head.status < 300) {
      action |= HeadAction.NoBody | HeadAction.TunnelAfter;
    }
    return action;
  }

  responseBody(n: number, time: number): void {
    if (!this.curRes) return;
    this.curRes.tx.responseBodyBytes += n;
    this.curRes.tx.responseLastByteTime = time;
  }

  responseMessageComplete(time: number): void {
    const p = this.curRes;
    if (!p) return; // an interim response
    this.curRes = null;
    const tx = p.tx;
    tx.responseLastByteTime = time;
    p.responseDone = true;
    const status = tx.status ?? 0;
    const switching = status === 101 || (tx.method === 'CONNECT' && status >= 200 && status < 300);
    if (switching) {
      const up = (tx.upgrade ?? '').toLowerCase();
      if (status === 101 && /\bh2c\b/.test(up)) {
        // RFC 7540 3.2: the upgraded request is stream 1; its final response comes over HTTP/2.
        tx.upgrade = 'h2c';
        tx.interimStatuses.push(101);
        tx.status = null;
        tx.responseHeaders = {};
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        this.switched = true;
        const pending = this.req.isPaused ? this.req.takePaused() : [];
        this.req.tunnel();
        this.res.tunnel();
        this.ctx.switchToH2c(tx, pending);
        return;
      }
      if (tx.upgrade === null) tx.upgrade = status === 101 ? 'unknown' : 'CONNECT';
      if (this.req.isPaused) this.req.takePaused();
      this.req.tunnel();
      this.maybeDone(p);
      return;
    }
    if (this.req.isPaused) {
      this.maybeDone(p);
      this.req.resume();
      return;
    }
    this.maybeDone(p);
  }

  responseMessageGap(n: number): void {
    if (!this.curRes) return;
    this.curRes.tx.responseBodyBytes += n;
    this.curRes.tx.outcome = 'incomplete';
  }

  responseMessageAbort(why: 'gap' | 'end', time: number): void {
    const p = this.curRes;
    this.curRes = null;
    if (!p) return;
    p.tx.responseLastByteTime ??= time;
    addAnomaly(p.tx, why === 'gap' ? 'response-cut-by-gap' : 'response-cut-by-end');
    if (p.tx.outcome !== 'malformed') p.tx.outcome = 'incomplete';
    if (why === 'end') {
      const e = this.endInfo();
      p.tx.endedBy = e.by;
      p.tx.endedByDirection = e.dir;
    }
    p.responseDone = true;
    this.maybeDone(p);
  }

  responseError(reason: string, _detail: string, _so: number, time: number): void {
    if (!this.seenResponse && this.curRes === null && START_LINE_ERRORS.has(reason)) {
      this.pendingAnomalies[1].push('http1-not-at-message-start');
      return;
    }
    let p = this.curRes ?? this.queue.find((q) => !q.responseDone) ?? null;
    if (!p) {
      p = this.newPending();
      p.requestDone = true;
      this.queue.push(p);
    }
    this.curRes = null;
    p.tx.outcome = 'malformed';
    p.tx.malformedReason = `response: ${reason}`;
    p.tx.responseFirstByteTime ??= this.resBeginTime;
    p.tx.responseLastByteTime = time;
    p.responseDone = true;
    this.maybeDone(p);
  }

  responseTunnelData(b: Uint8Array, o: number, l: number, so: number, t: number): void {
    this.ctx.tunnelData(1, b, o, l, so, t);
  }

  responseAnomaly(code: string, detail: string): void {
    if (code === H1Anomaly.Resync && detail.includes('gap') && this.queue.some((q) => !q.responseDone)) this.pairingUncertain = true;
    const p = this.curRes ?? this.queue.find((q) => !q.responseDone);
    if (p) addAnomaly(p.tx, code);
    else if (!this.pendingAnomalies[1].includes(code)) this.pendingAnomalies[1].push(code);
  }
}

/**
 * The last value seen for each selected header, over all connections. Keep-alive traffic repeats
 * Host, User-Agent, Content-Type, Connection, Keep-Alive from message to message, so most values
 * are found here by comparing bytes instead of being made again (a response head then needs no
 * string at all).
 */
const recentValues = new Map<SelectedHeaderName, string>();

function recentOrNewValue(head: H1Head, i: number, name: SelectedHeaderName): string {
  const recent = recentValues.get(name);
  if (recent !== undefined && head.fieldValueEquals(i, recent)) return recent;
  const value = head.fieldValue(i);
  recentValues.set(name, value);
  return value;
}

/** "1.1" / "1.0" as shared strings (every transaction records its version). */
function versionString(head: H1Head): string {
  if (head.versionMajor === 1 && head.versionMinor === 1) return '1.1';
  if (head.versionMajor === 1 && head.versionMinor === 0) return '1.0';
  return `${head.versionMajor}.${head.versionMinor}`;
}

/** The request parser's events, forwarded to its connection (methods, not per-connection closures). */
class RequestEvents implements H1Handler {
  constructor(private readonly c: Http1Connection) {}

  onMessageBegin(so: number, time: number, firstInChunk: boolean, prev?: number): void {
    this.c.requestMessageBegin(so, time, firstInChunk, prev);
  }

  probe(): number {
    return this.c.requestProbe();
  }

  onHeadersComplete(head: H1Head, time: number): number {
    return this.c.requestHeadersComplete(head, time);
  }

  onBody(n: number, time: number): void {
    this.c.requestBody(n, time);
  }

  onMessageComplete(time: number): void {
    this.c.requestMessageComplete(time);
  }

  onMessageGap(n: number): void {
    this.c.requestMessageGap(n);
  }

  onMessageAbort(why: 'gap' | 'end', time: number): void {
    this.c.requestMessageAbort(why, time);
  }

  onError(reason: string, detail: string, so: number, time: number): void {
    this.c.requestError(reason, detail, so, time);
  }

  onTunnelData(bytes: Uint8Array, offset: number, length: number, so: number, time: number): void {
    this.c.requestTunnelData(bytes, offset, length, so, time);
  }

  onAnomaly(code: string, detail: string): void {
    this.c.requestAnomaly(code, detail);
  }
}

/** The response parser's events, forwarded to its connection (methods, not per-connection closures). */
class ResponseEvents implements H1Handler {
  constructor(private readonly c: Http1Connection) {}

  onMessageBegin(so: number, time: number): void {
    this.c.responseMessageBegin(so, time);
  }

  onHeadersComplete(head: H1Head, time: number): number {
    return this.c.responseHeadersComplete(head, time);
  }

  onBody(n: number, time: number): void {
    this.c.responseBody(n, time);
  }

  onMessageComplete(time: number): void {
    this.c.responseMessageComplete(time);
  }

  onMessageGap(n: number): void {
    this.c.responseMessageGap(n);
  }

  onMessageAbort(why: 'gap' | 'end', time: number): void {
    this.c.responseMessageAbort(why, time);
  }

  onError(reason: string, detail: string, so: number, time: number): void {
    this.c.responseError(reason, detail, so, time);
  }

  onTunnelData(bytes: Uint8Array, offset: number, length: number, so: number, time: number): void {
    this.c.responseTunnelData(bytes, offset, length, so, time);
  }

  onAnomaly(code: string, detail: string): void {
    this.c.responseAnomaly(code, detail);
  }
}
