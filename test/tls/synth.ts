/**
 * Builds synthetic TLS 1.3 connections (records encrypted with node:crypto AES-128-GCM) for the
 * paths no public capture with keys exercises: KeyUpdate, 0-RTT accepted/rejected, HRR, keys that
 * arrive late, wrong keys. Handshake messages carry only the fields a passive decoder reads;
 * Finished/verify data are random (the decoder does not verify them, the AEAD does authenticate).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Direction } from '../../src/flow/stream.js';
import { tls13NextSecret, tls13TrafficKeys } from '../../src/tls/keyschedule.js';
import { HRR_RANDOM } from '../../src/tls/handshake.js';
import type { StreamEvent } from './helpers.js';

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length]), b]);
const vec16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);
const ext = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), vec16(data)]);
const hs = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), u24(body.length), body]);
const alpnExt = (protos: string[]): Buffer => ext(16, vec16(Buffer.concat(protos.map((p) => vec8(Buffer.from(p))))));

class Writer {
  seq = 0;
  constructor(
    private key: Buffer,
    private iv: Buffer,
  ) {}

  seal(innerType: number, payload: Buffer): Buffer {
    const inner = Buffer.concat([payload, Buffer.from([innerType])]);
    const nonce = Buffer.from(this.iv);
    const s = this.seq++;
    for (let i = 0; i < 8; i++) nonce[11 - i]! ^= Math.floor(s / 2 ** (8 * i)) & 0xff;
    const header = Buffer.from([23, 3, 3, 0, 0]);
    header.writeUInt16BE(inner.length + 16, 3);
    const c = createCipheriv('aes-128-gcm', this.key, nonce);
    c.setAAD(header);
    const ct = Buffer.concat([c.update(inner), c.final(), c.getAuthTag()]);
    return Buffer.concat([header, ct]);
  }
}

function writerFor(secret: Buffer): Writer {
  const k = tls13TrafficKeys('sha256', secret, 16, 12);
  return new Writer(Buffer.from(k.key), Buffer.from(k.iv));
}

export interface Tls13Options {
  sni?: string;
  alpnOffered?: string[];
  alpn?: string | null;
  earlyData?: Buffer | null;
  /** Server accepts 0-RTT (else the client's early record is skipped by the server). */
  earlyAccepted?: boolean;
  hrr?: boolean;
  keyUpdates?: boolean;
  /** More client application records after the request (each its own TCP segment). */
  extraClientRecords?: number;
}

export class Tls13Connection {
  readonly clientRandom = randomBytes(32);
  readonly secrets = {
    CLIENT_EARLY_TRAFFIC_SECRET: randomBytes(32),
    CLIENT_HANDSHAKE_TRAFFIC_SECRET: randomBytes(32),
    SERVER_HANDSHAKE_TRAFFIC_SECRET: randomBytes(32),
    CLIENT_TRAFFIC_SECRET_0: randomBytes(32),
    SERVER_TRAFFIC_SECRET_0: randomBytes(32),
  };
  readonly events: StreamEvent[] = [];
  /** Application data each side sent, in order (what a decrypter must produce). */
  readonly sent: [Buffer[], Buffer[]] = [[], []];
  private time = 1_700_000_000;

  constructor(readonly opts: Tls13Options = {}) {
    const o = opts;
    this.push(0, this.plain(22, hs(1, this.clientHelloBody())));
    const early = o.earlyData ?? null;
    const earlyW = writerFor(this.secrets.CLIENT_EARLY_TRAFFIC_SECRET);
    if (early !== null && !o.hrr) {
      this.push(0, earlyW.seal(23, early));
      if (o.earlyAccepted) this.sent[0].push(early);
    }
    if (o.hrr) {
      this.push(1, this.plain(22, hs(2, this.serverHelloBody(true))));
      this.push(0, this.plain(20, Buffer.from([1])));
      this.push(0, this.plain(22, hs(1, this.clientHelloBody())));
    }
    this.push(1, this.plain(22, hs(2, this.serverHelloBody(false))));
    this.push(1, this.plain(20, Buffer.from([1])));
    const sHs = writerFor(this.secrets.SERVER_HANDSHAKE_TRAFFIC_SECRET);
    const eeExts = Buffer.concat([o.alpn ? alpnExt([o.alpn]) : Buffer.alloc(0), early !== null && o.earlyAccepted ? ext(42, Buffer.alloc(0)) : Buffer.alloc(0)]);
    // EncryptedExtensions and Finished in one record, certificate messages left out.
    this.push(1, sHs.seal(22, Buffer.concat([hs(8, vec16(eeExts)), hs(20, randomBytes(32))])));
    const sApp = writerFor(this.secrets.SERVER_TRAFFIC_SECRET_0);
    this.app(1, sApp, Buffer.from('server speaks first after its Finished\n'));
    if (early !== null && o.earlyAccepted) this.push(0, earlyW.seal(22, hs(5, Buffer.alloc(0))));
    this.push(0, this.plain(20, Buffer.from([1])));
    const cHs = writerFor(this.secrets.CLIENT_HANDSHAKE_TRAFFIC_SECRET);
    this.push(0, cHs.seal(22, hs(20, randomBytes(32))));
    let cApp = writerFor(this.secrets.CLIENT_TRAFFIC_SECRET_0);
    this.app(0, cApp, Buffer.from('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n'));
    this.app(1, sApp, Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    for (let i = 0; i < (o.extraClientRecords ?? 0); i++) this.app(0, cApp, Buffer.from(`record ${i} ${'x'.repeat(100 + i)}\n`));
    if (o.keyUpdates) {
      // Client updates its keys twice, the server once; data follows each update.
      let cSecret = this.secrets.CLIENT_TRAFFIC_SECRET_0;
      for (let i = 1; i <= 2; i++) {
        this.push(0, cApp.seal(22, hs(24, Buffer.from([1]))));
        cSecret = Buffer.from(tls13NextSecret('sha256', cSecret));
        cApp = writerFor(cSecret);
        this.app(0, cApp, Buffer.from(`GET /after-key-update-${i} HTTP/1.1\r\n\r\n`));
      }
      this.push(1, sApp.seal(22, hs(24, Buffer.from([0]))));
      const sApp1 = writerFor(Buffer.from(tls13NextSecret('sha256', this.secrets.SERVER_TRAFFIC_SECRET_0)));
      this.app(1, sApp1, Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
      this.push(1, sApp1.seal(21, Buffer.from([1, 0])));
    } else {
      this.push(1, sApp.seal(21, Buffer.from([1, 0]))); // encrypted close_notify
    }
  }

  keylog(labels: (keyof Tls13Connection['secrets'])[] = Object.keys(this.secrets) as (keyof Tls13Connection['secrets'])[]): string {
    const cr = this.clientRandom.toString('hex');
    return labels.map((l) => `${l} ${cr} ${this.secrets[l].toString('hex')}`).join('\n') + '\n';
  }

  private app(dir: Direction, w: Writer, data: Buffer): void {
    this.sent[dir].push(data);
    this.push(dir, w.seal(23, data));
  }

  private push(dir: Direction, bytes: Buffer): void {
    this.time += 0.001;
    this.events.push({ dir, bytes: new Uint8Array(bytes), time: this.time });
  }

  private plain(type: number, body: Buffer): Buffer {
    return Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);
  }

  private clientHelloBody(): Buffer {
    const o = this.opts;
    const exts = [
      o.sni ? ext(0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(o.sni))]))) : Buffer.alloc(0),
      o.alpnOffered ? alpnExt(o.alpnOffered) : Buffer.alloc(0),
      ext(43, vec8(Buffer.from([3, 4, 3, 3]))),
      o.earlyData ? ext(42, Buffer.alloc(0)) : Buffer.alloc(0),
    ];
    return Buffer.concat([Buffer.from([3, 3]), this.clientRandom, vec8(Buffer.alloc(0)), vec16(u16(0x1301)), vec8(Buffer.from([0])), vec16(Buffer.concat(exts))]);
  }

  private serverHelloBody(hrr: boolean): Buffer {
    return Buffer.concat([Buffer.from([3, 3]), hrr ? Buffer.from(HRR_RANDOM) : randomBytes(32), vec8(Buffer.alloc(0)), u16(0x1301), Buffer.from([0]), vec16(ext(43, u16(0x0304)))]);
  }
}
