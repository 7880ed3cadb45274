/**
 * TLS key schedules, built from node:crypto primitives (HMAC, hashes).
 *
 * - SSL 3.0 key block (draft-freier-ssl-version3, RFC 6101 §6.2.2).
 * - TLS 1.0/1.1 PRF: P_MD5 xor P_SHA1 (RFC 2246 §5, RFC 4346 §5).
 * - TLS 1.2 PRF: P_SHA256 or the suite's hash (RFC 5246 §5); key block (§6.3);
 *   master secret from a pre-master (§8.1) and extended master secret (RFC 7627).
 * - TLS 1.3 HKDF-Expand-Label, traffic keys and KeyUpdate (RFC 8446 §7.1-7.3).
 */
import { createHash, createHmac } from 'node:crypto';

export const SSL3 = 0x0300;
export const TLS10 = 0x0301;
export const TLS11 = 0x0302;
export const TLS12 = 0x0303;
export const TLS13 = 0x0304;

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function hmac(hash: string, key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac(hash, key);
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
}

function pHash(hash: string, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed;
  let n = 0;
  while (n < length) {
    a = hmac(hash, secret, a);
    const block = hmac(hash, secret, a, seed);
    out.set(block.subarray(0, Math.min(block.length, length - n)), n);
    n += block.length;
  }
  return out;
}

/**
 * The TLS PRF for `version` (0x0301..0x0303). TLS 1.0/1.1 split the secret in two halves for
 * MD5 and SHA-1; TLS 1.2 uses the suite's hash.
 */
export function prf(version: number, hash: 'sha256' | 'sha384', secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const labelSeed = concat(Buffer.from(label, 'latin1'), seed);
  if (version >= TLS12) return pHash(hash, secret, labelSeed, length);
  const half = Math.ceil(secret.length / 2);
  const md5 = pHash('md5', secret.subarray(0, half), labelSeed, length);
  const sha = pHash('sha1', secret.subarray(secret.length - half), labelSeed, length);
  for (let i = 0; i < length; i++) md5[i]! ^= sha[i]!;
  return md5;
}

/** SSL 3.0 key_block: MD5(master + SHA1('A' + master + sr + cr)) + MD5(master + SHA1('BB' ...)) ... */
export function ssl3KeyBlock(master: Uint8Array, serverRandom: Uint8Array, clientRandom: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let n = 0;
  for (let i = 0; n < length; i++) {
    const salt = Buffer.alloc(i + 1, 0x41 + i);
    const inner = createHash('sha1').update(salt).update(master).update(serverRandom).update(clientRandom).digest();
    const block = createHash('md5').update(master).update(inner).digest();
    out.set(block.subarray(0, Math.min(16, length - n)), n);
    n += 16;
  }
  return out;
}

/** TLS <= 1.2 key block (SSL 3.0 included). */
export function keyBlock(version: number, hash: 'sha256' | 'sha384', master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array, length: number): Uint8Array {
  if (version === SSL3) return ssl3KeyBlock(master, serverRandom, clientRandom, length);
  return prf(version, hash, master, 'key expansion', concat(serverRandom, clientRandom), length);
}

/** Master secret from a pre-master secret (RSA / PMS_CLIENT_RANDOM key log lines). */
export function masterFromPreMaster(
  version: number,
  hash: 'sha256' | 'sha384',
  preMaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  sessionHash: Uint8Array | null,
): Uint8Array {
  if (version === SSL3) {
    const out = new Uint8Array(48);
    for (let i = 0; i < 3; i++) {
      const salt = Buffer.alloc(i + 1, 0x41 + i);
      const inner = createHash('sha1').update(salt).update(preMaster).update(clientRandom).update(serverRandom).digest();
      out.set(createHash('md5').update(preMaster).update(inner).digest(), i * 16);
    }
    return out;
  }
  if (sessionHash !== null) return prf(version, hash, preMaster, 'extended master secret', sessionHash, 48);
  return prf(version, hash, preMaster, 'master secret', concat(clientRandom, serverRandom), 48);
}

/** RFC 7627 session hash: the handshake transcript hash up to ClientKeyExchange. */
export function sessionHash(version: number, hash: 'sha256' | 'sha384', transcript: Uint8Array): Uint8Array {
  if (version >= TLS12) return new Uint8Array(createHash(hash).update(transcript).digest());
  return concat(createHash('md5').update(transcript).digest(), createHash('sha1').update(transcript).digest());
}

/** Output length of the hashes the key schedules use (HKDF's single-block limit). */
const HASH_LENGTH: Readonly<Record<string, number>> = { md5: 16, sha1: 20, sha256: 32, sha384: 48 };

/** HKDF's first block counter: T(1) = HMAC(PRK, info || 0x01). */
const FIRST_BLOCK = Uint8Array.of(1);

/** HKDF-Expand (RFC 5869 §2.3) with HMAC from node:crypto. */
export function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length <= (HASH_LENGTH[hash] ?? 0)) {
    // One block is all TLS ever asks for (keys, IVs, secrets): T(1) = HMAC(PRK, info || 0x01),
    // returned as a view of the digest rather than copied.
    const t = createHmac(hash, prk).update(info).update(FIRST_BLOCK).digest();
    return new Uint8Array(t.buffer, t.byteOffset, length);
  }
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  let n = 0;
  for (let i = 1; n < length; i++) {
    t = hmac(hash, prk, t, info, Uint8Array.of(i));
    out.set(t.subarray(0, Math.min(t.length, length - n)), n);
    n += t.length;
  }
  return out;
}

/** HKDF-Extract (RFC 5869 §2.2). */
export function hkdfExtract(hash: string, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmac(hash, salt, ikm);
}

/** RFC 8446 §7.1 HkdfLabel: length(2) || "tls13 " + label (vector<7..255>) || context (vector<0..255>). */
function hkdfLabel(label: string, context: Uint8Array, length: number): Uint8Array {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = new Uint8Array(2 + 1 + full.length + 1 + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = context.length;
  info.set(context, 4 + full.length);
  return info;
}

/**
 * HkdfLabels with an empty context ("key", "iv", "traffic upd" at the few key and hash lengths),
 * built once: every TLS 1.3 connection derives four to six keys and IVs from them.
 */
const fixedLabels = new Map<string, Uint8Array>();

function fixedHkdfLabel(label: string, length: number): Uint8Array {
  const name = `${label}/${length}`;
  let info = fixedLabels.get(name);
  if (info === undefined) {
    info = hkdfLabel(label, new Uint8Array(0), length);
    fixedLabels.set(name, info);
  }
  return info;
}

/** RFC 8446 §7.1 HKDF-Expand-Label(Secret, Label, Context, Length) with the "tls13 " prefix. */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const info = context.length === 0 ? fixedHkdfLabel(label, length) : hkdfLabel(label, context, length);
  return hkdfExpand(hash, secret, info, length);
}

const NO_CONTEXT = new Uint8Array(0);

/** RFC 8446 §7.3: write key and IV from a traffic secret. */
export function tls13TrafficKeys(hash: string, secret: Uint8Array, keyLength: number, ivLength: number): { key: Uint8Array; iv: Uint8Array } {
  return {
    key: hkdfExpandLabel(hash, secret, 'key', NO_CONTEXT, keyLength),
    iv: hkdfExpandLabel(hash, secret, 'iv', NO_CONTEXT, ivLength),
  };
}

/** RFC 8446 §7.2: application_traffic_secret_N+1 (KeyUpdate). */
export function tls13NextSecret(hash: string, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, 'traffic upd', NO_CONTEXT, secret.length);
}

/** RFC 8446 §7.1 Derive-Secret(Secret, Label, Messages) given the transcript hash. */
export function deriveSecret(hash: string, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, transcriptHash.length);
}
