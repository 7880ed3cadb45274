/**
 * The floor under any Node.js `analyze` of a capture: what Node's own start-up and node:crypto
 * cost for this capture's TLS records, with none of mirrorlens's work. Set against tshark's time
 * it says how fast an analyzer built on Node and node:crypto could possibly be.
 *
 * - Start-up: CPU of `node -e 0` (a bare Node process; no module of ours loaded).
 * - Decryption: every encrypted TLS record in the capture, found by walking the record headers of
 *   each TCP stream (client and server directions, reassembled by the flow stage), with its
 *   connection's AEAD (the ServerHello's cipher suite, `suiteInfo`) and its real ciphertext length. Each
 *   is decrypted the one way node:crypto allows for a record (a decipher per nonce: create, set
 *   AAD and tag, update, final) with a throw-away key, after encrypting it outside the timed loop.
 *   Key schedules, record parsing, handshake parsing: not counted. Records only TLS 1.2 would
 *   encrypt with other content types (its Finished) are not counted either: the floor is low.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { Direction } from '../../src/flow/stream.js';
import { parseServerHello } from '../../src/tls/handshake.js';
import { suiteInfo, type SuiteInfo } from '../../src/tls/suites.js';

export interface RecordCensus {
  /** Encrypted records by AEAD cipher suite and ciphertext length (explicit nonce and tag excluded). */
  bySuite: Map<SuiteInfo, Map<number, number>>;
  records: number;
  ciphertextBytes: number;
  tlsConnections: number;
}

const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const HS_SERVER_HELLO = 2;
/** Walks TLS record headers in one direction of a stream; bytes are copied only across chunk ends. */
class RecordWalker {
  private pending = new Uint8Array(0);
  private skip = 0;
  notTls = false;
  constructor(
    private readonly onRecord: (type: number, body: Uint8Array | null, length: number) => void,
    private readonly wantBody: (type: number) => boolean,
  ) {}

  push(bytes: Uint8Array): void {
    if (this.notTls) return;
    let buf = bytes;
    if (this.skip > 0) {
      const n = Math.min(this.skip, buf.length);
      this.skip -= n;
      buf = buf.subarray(n);
    }
    if (this.pending.length > 0) {
      const joined = new Uint8Array(this.pending.length + buf.length);
      joined.set(this.pending);
      joined.set(buf, this.pending.length);
      buf = joined;
      this.pending = new Uint8Array(0);
    }
    let at = 0;
    while (buf.length - at >= 5) {
      const type = buf[at]!;
      if (type < 20 || type > 24 || buf[at + 1] !== 3) {
        this.notTls = true;
        return;
      }
      const length = (buf[at + 3]! << 8) | buf[at + 4]!;
      const want = this.wantBody(type);
      if (want && buf.length - at - 5 < length) break; // wait for the whole body
      this.onRecord(type, want ? buf.subarray(at + 5, at + 5 + length) : null, length);
      const end = at + 5 + length;
      if (end > buf.length) {
        this.skip = end - buf.length;
        at = buf.length;
        break;
      }
      at = end;
    }
    if (at < buf.length) this.pending = buf.slice(at);
  }
}

/** Every encrypted TLS record of the captures, by AEAD and length. */
export async function censusOfRecords(captures: string[]): Promise<RecordCensus> {
  const census: RecordCensus = { bySuite: new Map(), records: 0, ciphertextBytes: 0, tlsConnections: 0 };
  await processCaptures(captures, {
    onConnectionStart() {
      let suite: SuiteInfo | null = null;
      let counted = false;
      const walkers: RecordWalker[] = [0, 1].map((d) => {
        const dir = d as Direction;
        return new RecordWalker(
          (type, body, length) => {
            if (!counted) {
              counted = true;
              census.tlsConnections++;
            }
            if (type === CT_HANDSHAKE && body !== null && suite === null && body[0] === HS_SERVER_HELLO) {
              const sh = parseServerHello(body.subarray(4, 4 + ((body[1]! << 16) | (body[2]! << 8) | body[3]!)));
              const info = sh === null ? null : suiteInfo(sh.cipherSuite);
              if (info !== null && info.kind === 'aead') suite = info;
            } else if (type === CT_APPDATA && suite !== null) {
              const n = length - suite.explicitNonceLength - suite.tagLength;
              if (n <= 0) return;
              let byLength = census.bySuite.get(suite);
              if (byLength === undefined) census.bySuite.set(suite, (byLength = new Map()));
              byLength.set(n, (byLength.get(n) ?? 0) + 1);
              census.records++;
              census.ciphertextBytes += n;
            }
          },
          (type) => type === CT_HANDSHAKE && dir === 1 && suite === null,
        );
      });
      return {
        data: (dir, bytes, offset, length) => walkers[dir]!.push(bytes.subarray(offset, offset + length)),
        gap: (dir) => void (walkers[dir]!.notTls = true),
        end() {},
      };
    },
  });
  return census;
}

/** CPU seconds node:crypto takes to open every record of the census once (one round). */
export function decryptRound(census: RecordCensus): number {
  const jobs: { cipher: CipherGCMTypes; tag: Buffer; key: Buffer; iv: Buffer; aad: Buffer; ct: Buffer }[] = [];
  for (const [suite, byLength] of census.bySuite) {
    const cipher = suite.cipher as CipherGCMTypes;
    const key = randomBytes(suite.keyLength);
    for (const [length, count] of byLength) {
      const iv = randomBytes(12);
      const recordLength = length + suite.explicitNonceLength + suite.tagLength;
      const aad = Buffer.from([CT_APPDATA, 3, 3, recordLength >> 8, recordLength & 0xff]);
      const enc = createCipheriv(cipher, key, iv, { authTagLength: suite.tagLength });
      enc.setAAD(aad);
      const ct = Buffer.concat([enc.update(randomBytes(length)), enc.final()]);
      const tag = enc.getAuthTag();
      for (let i = 0; i < count; i++) jobs.push({ cipher, tag, key, iv, aad, ct });
    }
  }
  const c0 = process.cpuUsage();
  let sink = 0;
  for (const j of jobs) {
    const d = createDecipheriv(j.cipher, j.key, j.iv, { authTagLength: j.tag.length });
    d.setAAD(j.aad);
    d.setAuthTag(j.tag);
    sink += d.update(j.ct).length;
    d.final();
  }
  const c = process.cpuUsage(c0);
  if (sink !== census.ciphertextBytes) throw new Error(`decrypted ${sink} bytes, expected ${census.ciphertextBytes}`);
  return (c.user + c.system) / 1e6;
}
