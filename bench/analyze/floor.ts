/**
 * The floor under any Node.js `analyze` of a capture: what Node's own start-up and node:crypto
 * cost for this capture's TLS records, with none of mirrorlens's work. Set against tshark's time
 * it says how fast an analyzer built on Node and node:crypto could possibly be.
 *
 * - Start-up: CPU of `node -e 0` (a bare Node process; no module of ours loaded).
 * - Decryption: every encrypted TLS record in the capture, found by walking the record headers of
 *   each TCP stream (client and server directions, reassembled by the flow stage), with its
 *   connection's AEAD (from the ServerHello's cipher suite) and its real ciphertext length. Each
 *   is decrypted the one way node:crypto allows for a record (a decipher per nonce: create, set
 *   AAD and tag, update, final) with a throw-away key, after encrypting it outside the timed loop.
 *   Key schedules, record parsing, handshake parsing: not counted. Records only TLS 1.2 would
 *   encrypt with other content types (its Finished) are not counted either: the floor is low.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { processCaptures } from '../../src/flow/pipeline.js';
import type { Direction } from '../../src/flow/stream.js';

export interface RecordCensus {
  /** Encrypted records by AEAD and ciphertext length (tag excluded). */
  byCipher: Map<string, Map<number, number>>;
  records: number;
  ciphertextBytes: number;
  tlsConnections: number;
}

const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const HS_SERVER_HELLO = 2;
const TAG = 16;

/** node:crypto name of an AEAD cipher suite's cipher (TLS 1.3 and the TLS 1.2 ECDHE/RSA AEAD suites). */
function aeadOf(suite: number): string {
  switch (suite) {
    case 0x1301: case 0xc02b: case 0xc02f: case 0x009c: case 0x009e:
      return 'aes-128-gcm';
    case 0x1302: case 0xc02c: case 0xc030: case 0x009d: case 0x009f:
      return 'aes-256-gcm';
    case 0x1303: case 0xcca8: case 0xcca9: case 0xccaa:
      return 'chacha20-poly1305';
    default:
      return 'aes-128-gcm';
  }
}

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
  const census: RecordCensus = { byCipher: new Map(), records: 0, ciphertextBytes: 0, tlsConnections: 0 };
  await processCaptures(captures, {
    onConnectionStart() {
      let cipher: string | null = null;
      let counted = false;
      const walkers: RecordWalker[] = [0, 1].map((d) => {
        const dir = d as Direction;
        return new RecordWalker(
          (type, body, length) => {
            if (!counted) {
              counted = true;
              census.tlsConnections++;
            }
            if (type === CT_HANDSHAKE && body !== null && cipher === null && body[0] === HS_SERVER_HELLO && body.length >= 4 + 2 + 32 + 1) {
              const sidLength = body[4 + 2 + 32]!;
              const at = 4 + 2 + 32 + 1 + sidLength;
              if (body.length >= at + 2) cipher = aeadOf((body[at]! << 8) | body[at + 1]!);
            } else if (type === CT_APPDATA && cipher !== null && length > TAG) {
              let byLength = census.byCipher.get(cipher);
              if (byLength === undefined) census.byCipher.set(cipher, (byLength = new Map()));
              byLength.set(length - TAG, (byLength.get(length - TAG) ?? 0) + 1);
              census.records++;
              census.ciphertextBytes += length - TAG;
            }
          },
          (type) => type === CT_HANDSHAKE && dir === 1 && cipher === null,
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
  const jobs: { cipher: string; key: Buffer; iv: Buffer; aad: Buffer; ct: Buffer; tag: Buffer }[] = [];
  for (const [cipher, byLength] of census.byCipher) {
    const key = randomBytes(cipher === 'aes-128-gcm' ? 16 : 32);
    for (const [length, count] of byLength) {
      const iv = randomBytes(12);
      const aad = Buffer.from([CT_APPDATA, 3, 3, (length + TAG) >> 8, (length + TAG) & 0xff]);
      const enc = createCipheriv(cipher as CipherGCMTypes, key, iv, { authTagLength: TAG });
      enc.setAAD(aad);
      const ct = Buffer.concat([enc.update(randomBytes(length)), enc.final()]);
      const tag = enc.getAuthTag();
      for (let i = 0; i < count; i++) jobs.push({ cipher, key, iv, aad, ct, tag });
    }
  }
  const c0 = process.cpuUsage();
  let sink = 0;
  for (const j of jobs) {
    const d = createDecipheriv(j.cipher as CipherGCMTypes, j.key, j.iv, { authTagLength: TAG });
    d.setAAD(j.aad);
    d.setAuthTag(j.tag);
    sink += d.update(j.ct).length;
    d.final();
  }
  const c = process.cpuUsage(c0);
  if (sink !== census.ciphertextBytes) throw new Error(`decrypted ${sink} bytes, expected ${census.ciphertextBytes}`);
  return (c.user + c.system) / 1e6;
}
