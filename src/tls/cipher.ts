/**
 * Record protection: one RecordDecryptor per direction and key epoch. Every record is
 * authenticated before its plaintext is returned (AEAD tag, or the MAC for CBC / NULL suites);
 * a record that does not authenticate returns null, never bytes.
 *
 * TLS 1.2 AEAD (RFC 5246 §6.2.3.3, RFC 5288 GCM, RFC 6655 CCM):
 *   nonce = fixed_iv(4) || explicit_nonce(8, first bytes of the record)
 *   aad   = seq_num(8) || type || version(2) || plaintext_length(2)
 * ChaCha20-Poly1305 (RFC 7905): nonce = fixed_iv(12) xor seq_num, no explicit part.
 * TLS 1.3 (RFC 8446 §5.2-5.3): nonce = iv xor seq_num; aad = the 5-byte record header;
 *   plaintext = content || real_type || zeros.
 * CBC (RFC 5246 §6.2.3.2, RFC 2246 for the chained IV of TLS 1.0 / SSL 3.0): MAC-then-encrypt,
 *   or encrypt-then-MAC when negotiated (RFC 7366). SSL 3.0 MAC per RFC 6101 §5.2.3.1.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HashName, SuiteInfo } from './suites.js';
import { SSL3, TLS11 } from './keyschedule.js';

export interface DecryptedRecord {
  /** Content type of the plaintext (TLS 1.3: the inner type). */
  type: number;
  /**
   * The content is `data[0, length)`. TLS 1.3 leaves the inner type and padding after it in
   * `data`: a length rather than one more subarray view per record (the plaintext is handed on
   * as bytes + offset + length anyway).
   */
  data: Uint8Array;
  length: number;
}

function writeSeq(out: Uint8Array, at: number, seq: number): void {
  const hi = Math.floor(seq / 0x100000000);
  const lo = seq >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

const SSL3_PAD_LEN: Record<HashName, number> = { md5: 48, sha1: 40, sha256: 0, sha384: 0 };

/**
 * The plaintext as a plain Uint8Array over the Buffer's memory (no copy): downstream code gets
 * Uint8Array semantics (slice copies) whatever node:crypto returned.
 */
function asPlainBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Additional data of TLS 1.3 drafts before -25 (none). */
const NO_AAD = new Uint8Array(0);

export class RecordDecryptor {
  /** Sequence number of the next record (64-bit in TLS; exact in a JS number up to 2^53). */
  seq = 0;
  /**
   * createDecipheriv options, made once (AEAD: the tag length). The key stays raw bytes: a
   * KeyObject (createSecretKey) per decryptor costs more than it saves per record when a key
   * epoch sees few records (TLS 1.3 handshake keys, short HTTPS connections: about 7 records per
   * key on the lab's load capture; measured, see docs/tls.md).
   */
  private readonly decipherOptions: { authTagLength: number };
  /**
   * The per-record nonce, rewritten in place for each record (createDecipheriv copies it). Its
   * first 4 bytes are the first 4 bytes of the IV for every AEAD construction, so they are
   * written once here.
   */
  private readonly nonce: Uint8Array;
  /** TLS 1.2 additional data (seq, type, version, length), rewritten per record. */
  private readonly aad: Uint8Array;
  /** TLS 1.3 additional data: the 5-byte record header, rewritten per record. */
  private readonly aad13: Uint8Array;
  /** The record's AEAD tag, copied here (setAuthTag copies it again) instead of a view per record. */
  private readonly tag: Uint8Array;
  private cbcIv: Uint8Array | null;

  constructor(
    readonly suite: SuiteInfo,
    readonly version: number,
    private readonly key: Uint8Array,
    private readonly iv: Uint8Array,
    private readonly macKey: Uint8Array,
    private readonly encryptThenMac = false,
  ) {
    this.decipherOptions = { authTagLength: suite.tagLength };
    this.nonce = new Uint8Array(12);
    this.nonce.set(iv.subarray(0, Math.min(iv.length, 4)));
    this.aad = new Uint8Array(13);
    this.aad13 = new Uint8Array(5);
    this.tag = new Uint8Array(suite.tagLength);
    this.cbcIv = suite.kind === 'cbc' && version < TLS11 ? iv : null;
  }

  /**
   * Decrypts and authenticates one record (`payload` = the record body). Returns null when it
   * does not authenticate. Advances the sequence number either way.
   */
  decrypt(type: number, version: number, payload: Uint8Array): DecryptedRecord | null {
    const seq = this.seq++;
    try {
      if (this.version >= 0x0304 || (this.version & 0xff00) === 0x7f00) return this.open13(payload, seq, version);
      if (this.suite.kind === 'aead') return this.open12(type, version, payload, seq);
      if (this.suite.kind === 'cbc') return this.openCbc(type, version, payload, seq);
      if (this.suite.kind === 'null') return this.openNull(type, version, payload, seq);
      return null;
    } catch {
      return null;
    }
  }

  /**
   * AEAD open of `payload[0, ctEnd)` with the tag right after it (`payload[ctEnd, ctEnd + tagLength)`).
   * Throws when the tag does not verify (decrypt turns that into null).
   */
  private aeadOpen(nonce: Uint8Array, aad: Uint8Array, payload: Uint8Array, ctStart: number, ctEnd: number): Uint8Array {
    const s = this.suite;
    const ct = payload.subarray(ctStart, ctEnd);
    const tag = this.tag;
    for (let i = 0; i < tag.length; i++) tag[i] = payload[ctEnd + i]!;
    if (s.cipher.endsWith('-ccm')) {
      const d = createDecipheriv(s.cipher as 'aes-128-ccm', this.key, nonce, this.decipherOptions);
      d.setAuthTag(tag);
      d.setAAD(aad, { plaintextLength: ct.length });
      const out = d.update(ct);
      d.final();
      return asPlainBytes(out);
    }
    const d = createDecipheriv(s.cipher as 'aes-128-gcm', this.key, nonce, this.decipherOptions);
    d.setAuthTag(tag);
    d.setAAD(aad);
    const out = d.update(ct);
    // final() checks the tag; GCM and ChaCha20-Poly1305 return no further bytes from it.
    const rest = d.final();
    return asPlainBytes(rest.length === 0 ? out : Buffer.concat([out, rest]));
  }

  /** RFC 8446 §5.3 / RFC 7905: nonce = iv xor the 64-bit sequence number (in the last 8 bytes). */
  private xorNonce(seq: number): Uint8Array {
    const n = this.nonce;
    const iv = this.iv;
    const hi = Math.floor(seq / 0x100000000);
    const lo = seq >>> 0;
    n[4] = iv[4]! ^ (hi >>> 24);
    n[5] = iv[5]! ^ ((hi >>> 16) & 0xff);
    n[6] = iv[6]! ^ ((hi >>> 8) & 0xff);
    n[7] = iv[7]! ^ (hi & 0xff);
    n[8] = iv[8]! ^ (lo >>> 24);
    n[9] = iv[9]! ^ ((lo >>> 16) & 0xff);
    n[10] = iv[10]! ^ ((lo >>> 8) & 0xff);
    n[11] = iv[11]! ^ (lo & 0xff);
    return n;
  }

  private open13(payload: Uint8Array, seq: number, recordVersion: number): DecryptedRecord | null {
    const tagLen = this.suite.tagLength;
    if (payload.length < tagLen + 1) return null;
    // Drafts before -25 authenticated no additional data; RFC 8446 uses the record header.
    const draft = (this.version & 0xff00) === 0x7f00 && (this.version & 0xff) < 25;
    let aad: Uint8Array = NO_AAD;
    if (!draft) {
      aad = this.aad13;
      aad[0] = 23;
      aad[1] = recordVersion >> 8;
      aad[2] = recordVersion & 0xff;
      aad[3] = payload.length >> 8;
      aad[4] = payload.length & 0xff;
    }
    const pt = this.aeadOpen(this.xorNonce(seq), aad, payload, 0, payload.length - tagLen);
    // TLSInnerPlaintext: content || type || zeros; the type is the last non-zero byte.
    let end = pt.length;
    while (end > 0 && pt[end - 1] === 0) end--;
    if (end === 0) return null; // all padding: no content type (RFC 8446 §5.4: unexpected_message)
    return { type: pt[end - 1]!, data: pt, length: end - 1 };
  }

  private open12(type: number, version: number, payload: Uint8Array, seq: number): DecryptedRecord | null {
    const s = this.suite;
    const explicit = s.explicitNonceLength;
    const ptLen = payload.length - explicit - s.tagLength;
    if (ptLen < 0) return null;
    let nonce: Uint8Array;
    if (explicit > 0) {
      // fixed_iv (bytes 0-3, written once) || explicit nonce from the record.
      nonce = this.nonce;
      for (let i = 0; i < 8; i++) nonce[4 + i] = payload[i]!;
    } else {
      nonce = this.xorNonce(seq);
    }
    const aad = this.aad;
    writeSeq(aad, 0, seq);
    aad[8] = type;
    aad[9] = version >> 8;
    aad[10] = version & 0xff;
    aad[11] = ptLen >> 8;
    aad[12] = ptLen & 0xff;
    const pt = this.aeadOpen(nonce, aad, payload, explicit, explicit + ptLen);
    return { type, data: pt, length: pt.length };
  }

  private mac(seq: number, type: number, version: number, parts: Uint8Array[], length: number): Uint8Array {
    const hash = this.suite.mac!;
    const header = new Uint8Array(this.version === SSL3 ? 11 : 13);
    writeSeq(header, 0, seq);
    header[8] = type;
    if (this.version === SSL3) {
      header[9] = length >> 8;
      header[10] = length & 0xff;
      const padLen = SSL3_PAD_LEN[hash];
      const inner = createHash(hash).update(this.macKey).update(Buffer.alloc(padLen, 0x36)).update(header);
      for (const p of parts) inner.update(p);
      return new Uint8Array(createHash(hash).update(this.macKey).update(Buffer.alloc(padLen, 0x5c)).update(inner.digest()).digest());
    }
    header[9] = version >> 8;
    header[10] = version & 0xff;
    header[11] = length >> 8;
    header[12] = length & 0xff;
    const h = createHmac(hash, this.macKey).update(header);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }

  private openNull(type: number, version: number, payload: Uint8Array, seq: number): DecryptedRecord | null {
    const macLen = this.suite.macLength;
    if (payload.length < macLen) return null;
    const content = payload.subarray(0, payload.length - macLen);
    const expect = this.mac(seq, type, version, [content], content.length);
    if (!timingSafeEqual(expect, payload.subarray(content.length))) return null;
    return { type, data: content, length: content.length };
  }

  private openCbc(type: number, version: number, payload: Uint8Array, seq: number): DecryptedRecord | null {
    const s = this.suite;
    const bs = s.fixedIvLength;
    const macLen = s.macLength;
    let body = payload;
    if (this.encryptThenMac) {
      if (payload.length < macLen + bs) return null;
      body = payload.subarray(0, payload.length - macLen);
      const expect = this.mac(seq, type, version, [body], body.length);
      if (!timingSafeEqual(expect, payload.subarray(body.length))) return null;
    }
    let iv: Uint8Array;
    let ct: Uint8Array;
    if (this.cbcIv !== null) {
      iv = this.cbcIv;
      ct = body;
    } else {
      if (body.length < bs) return null;
      iv = body.subarray(0, bs);
      ct = body.subarray(bs);
    }
    if (ct.length === 0 || ct.length % bs !== 0) return null;
    const d = createDecipheriv(s.cipher, this.key, iv);
    d.setAutoPadding(false);
    const a = d.update(ct);
    const b = d.final();
    const pt = asPlainBytes(b.length === 0 ? a : Buffer.concat([a, b]));
    if (this.cbcIv !== null) this.cbcIv = ct.slice(ct.length - bs);
    const padLen = pt[pt.length - 1]!;
    if (padLen + 1 > pt.length) return null;
    if (this.version === SSL3) {
      if (padLen >= bs) return null;
    } else {
      for (let i = pt.length - 1 - padLen; i < pt.length; i++) if (pt[i] !== padLen) return null;
    }
    const unpadded = pt.subarray(0, pt.length - padLen - 1);
    if (this.encryptThenMac) return { type, data: unpadded, length: unpadded.length };
    if (unpadded.length < macLen) return null;
    const content = unpadded.subarray(0, unpadded.length - macLen);
    const expect = this.mac(seq, type, version, [content], content.length);
    if (!timingSafeEqual(expect, unpadded.subarray(content.length))) return null;
    return { type, data: content, length: content.length };
  }
}
