/**
 * TLS cipher suites (IANA "TLS Cipher Suites" registry) and what decrypting each one takes.
 * Properties are derived from the registry name, so the table is just code -> name.
 */
import { getCiphers } from 'node:crypto';

export type CipherKind = 'aead' | 'cbc' | 'null' | 'unsupported';
export type HashName = 'md5' | 'sha1' | 'sha256' | 'sha384';

export interface SuiteInfo {
  code: number;
  name: string;
  tls13: boolean;
  kind: CipherKind;
  /** node:crypto cipher name ('' when unsupported / null). */
  cipher: string;
  keyLength: number;
  /** AEAD: implicit (fixed) IV bytes from the key block; CBC: block size. */
  fixedIvLength: number;
  /** AEAD: explicit nonce bytes carried in each TLS 1.2 record (8 for GCM/CCM, 0 for ChaCha20). */
  explicitNonceLength: number;
  tagLength: number;
  /** CBC / NULL: record MAC hash. */
  mac: HashName | null;
  macLength: number;
  /** PRF (TLS 1.2) or HKDF (TLS 1.3) hash. */
  prfHash: 'sha256' | 'sha384';
  /** Why the suite cannot be decrypted (kind 'unsupported'). */
  unsupportedReason: string;
}

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x0001, 'TLS_RSA_WITH_NULL_MD5'], [0x0002, 'TLS_RSA_WITH_NULL_SHA'], [0x003b, 'TLS_RSA_WITH_NULL_SHA256'],
  [0x0004, 'TLS_RSA_WITH_RC4_128_MD5'], [0x0005, 'TLS_RSA_WITH_RC4_128_SHA'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA'], [0x0013, 'TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA'], [0x0016, 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA'], [0x0032, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA'], [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA'],
  [0x0034, 'TLS_DH_anon_WITH_AES_128_CBC_SHA'], [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA'], [0x0038, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA'],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA'], [0x003a, 'TLS_DH_anon_WITH_AES_256_CBC_SHA'],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256'], [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256'],
  [0x0040, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA256'], [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0x006a, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA256'], [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256'],
  [0x0041, 'TLS_RSA_WITH_CAMELLIA_128_CBC_SHA'], [0x0045, 'TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0084, 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA'], [0x0088, 'TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA'],
  [0x00ba, 'TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256'], [0x00be, 'TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00c0, 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256'], [0x00c4, 'TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x008b, 'TLS_PSK_WITH_3DES_EDE_CBC_SHA'], [0x008c, 'TLS_PSK_WITH_AES_128_CBC_SHA'], [0x008d, 'TLS_PSK_WITH_AES_256_CBC_SHA'],
  [0x0090, 'TLS_DHE_PSK_WITH_AES_128_CBC_SHA'], [0x0091, 'TLS_DHE_PSK_WITH_AES_256_CBC_SHA'],
  [0x0094, 'TLS_RSA_PSK_WITH_AES_128_CBC_SHA'], [0x0095, 'TLS_RSA_PSK_WITH_AES_256_CBC_SHA'],
  [0x0096, 'TLS_RSA_WITH_SEED_CBC_SHA'],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256'], [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384'],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'], [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0x00a2, 'TLS_DHE_DSS_WITH_AES_128_GCM_SHA256'], [0x00a3, 'TLS_DHE_DSS_WITH_AES_256_GCM_SHA384'],
  [0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256'], [0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00aa, 'TLS_DHE_PSK_WITH_AES_128_GCM_SHA256'], [0x00ab, 'TLS_DHE_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00ac, 'TLS_RSA_PSK_WITH_AES_128_GCM_SHA256'], [0x00ad, 'TLS_RSA_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00ae, 'TLS_PSK_WITH_AES_128_CBC_SHA256'], [0x00af, 'TLS_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b2, 'TLS_DHE_PSK_WITH_AES_128_CBC_SHA256'], [0x00b3, 'TLS_DHE_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b6, 'TLS_RSA_PSK_WITH_AES_128_CBC_SHA256'], [0x00b7, 'TLS_RSA_PSK_WITH_AES_256_CBC_SHA384'],
  [0x1301, 'TLS_AES_128_GCM_SHA256'], [0x1302, 'TLS_AES_256_GCM_SHA384'], [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0x1304, 'TLS_AES_128_CCM_SHA256'], [0x1305, 'TLS_AES_128_CCM_8_SHA256'],
  [0xc004, 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA'], [0xc005, 'TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc006, 'TLS_ECDHE_ECDSA_WITH_NULL_SHA'], [0xc008, 'TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA'], [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc00e, 'TLS_ECDH_RSA_WITH_AES_128_CBC_SHA'], [0xc00f, 'TLS_ECDH_RSA_WITH_AES_256_CBC_SHA'],
  [0xc010, 'TLS_ECDHE_RSA_WITH_NULL_SHA'], [0xc011, 'TLS_ECDHE_RSA_WITH_RC4_128_SHA'], [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'], [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'], [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'], [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'], [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc035, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA'], [0xc036, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA'],
  [0xc037, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256'], [0xc038, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384'],
  [0xc03c, 'TLS_RSA_WITH_ARIA_128_CBC_SHA256'], [0xc03d, 'TLS_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc050, 'TLS_RSA_WITH_ARIA_128_GCM_SHA256'], [0xc051, 'TLS_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc052, 'TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256'], [0xc053, 'TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc05c, 'TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256'], [0xc05d, 'TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc060, 'TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256'], [0xc061, 'TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc072, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256'], [0xc073, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc076, 'TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256'], [0xc077, 'TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc07a, 'TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256'], [0xc07b, 'TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc09c, 'TLS_RSA_WITH_AES_128_CCM'], [0xc09d, 'TLS_RSA_WITH_AES_256_CCM'],
  [0xc09e, 'TLS_DHE_RSA_WITH_AES_128_CCM'], [0xc09f, 'TLS_DHE_RSA_WITH_AES_256_CCM'],
  [0xc0a0, 'TLS_RSA_WITH_AES_128_CCM_8'], [0xc0a1, 'TLS_RSA_WITH_AES_256_CCM_8'],
  [0xc0a2, 'TLS_DHE_RSA_WITH_AES_128_CCM_8'], [0xc0a3, 'TLS_DHE_RSA_WITH_AES_256_CCM_8'],
  [0xc0a4, 'TLS_PSK_WITH_AES_128_CCM'], [0xc0a5, 'TLS_PSK_WITH_AES_256_CCM'],
  [0xc0a6, 'TLS_DHE_PSK_WITH_AES_128_CCM'], [0xc0a7, 'TLS_DHE_PSK_WITH_AES_256_CCM'],
  [0xc0a8, 'TLS_PSK_WITH_AES_128_CCM_8'], [0xc0a9, 'TLS_PSK_WITH_AES_256_CCM_8'],
  [0xc0aa, 'TLS_PSK_DHE_WITH_AES_128_CCM_8'], [0xc0ab, 'TLS_PSK_DHE_WITH_AES_256_CCM_8'],
  [0xc0ac, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM'], [0xc0ad, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM'],
  [0xc0ae, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'], [0xc0af, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8'],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'], [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'], [0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256'], [0xccad, 'TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccae, 'TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xd001, 'TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256'], [0xd002, 'TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384'],
  [0xd003, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256'], [0xd005, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256'],
];

const MAC_LEN: Record<HashName, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48 };

function derive(code: number, name: string): SuiteInfo {
  const tls13 = code >= 0x1301 && code <= 0x1305;
  const body = tls13 ? name.slice(4) : (name.split('_WITH_')[1] ?? '');
  const prfHash: 'sha256' | 'sha384' = /SHA384$/.test(body) ? 'sha384' : 'sha256';
  const s: SuiteInfo = {
    code, name, tls13, kind: 'unsupported', cipher: '', keyLength: 0, fixedIvLength: 0, explicitNonceLength: 0,
    tagLength: 0, mac: null, macLength: 0, prfHash, unsupportedReason: '',
  };
  let m: RegExpMatchArray | null;
  if ((m = /^(AES|ARIA)_(128|256)_GCM/.exec(body))) {
    s.kind = 'aead';
    s.cipher = `${m[1]!.toLowerCase()}-${m[2]}-gcm`;
    s.keyLength = Number(m[2]) / 8;
    s.fixedIvLength = tls13 ? 12 : 4;
    s.explicitNonceLength = tls13 ? 0 : 8;
    s.tagLength = 16;
  } else if ((m = /^AES_(128|256)_CCM(_8)?/.exec(body))) {
    s.kind = 'aead';
    s.cipher = `aes-${m[1]}-ccm`;
    s.keyLength = Number(m[1]) / 8;
    s.fixedIvLength = tls13 ? 12 : 4;
    s.explicitNonceLength = tls13 ? 0 : 8;
    s.tagLength = m[2] ? 8 : 16;
  } else if (/^CHACHA20_POLY1305/.test(body)) {
    s.kind = 'aead';
    s.cipher = 'chacha20-poly1305';
    s.keyLength = 32;
    s.fixedIvLength = 12;
    s.tagLength = 16;
  } else if ((m = /^(AES|CAMELLIA|ARIA)_(128|256)_CBC_(SHA|SHA256|SHA384)$/.exec(body))) {
    s.kind = 'cbc';
    s.cipher = `${m[1]!.toLowerCase()}-${m[2]}-cbc`;
    s.keyLength = Number(m[2]) / 8;
    s.fixedIvLength = 16;
    s.mac = m[3] === 'SHA' ? 'sha1' : (m[3]!.toLowerCase() as HashName);
  } else if ((m = /^3DES_EDE_CBC_(SHA)$/.exec(body))) {
    s.kind = 'cbc';
    s.cipher = 'des-ede3-cbc';
    s.keyLength = 24;
    s.fixedIvLength = 8;
    s.mac = 'sha1';
  } else if ((m = /^NULL_(MD5|SHA|SHA256|SHA384)$/.exec(body))) {
    s.kind = 'null';
    s.mac = m[1] === 'SHA' ? 'sha1' : (m[1]!.toLowerCase() as HashName);
  } else {
    s.unsupportedReason = `cipher ${body || name} is not supported`;
  }
  if (s.mac !== null) s.macLength = MAC_LEN[s.mac];
  return s;
}

const TABLE = new Map<number, SuiteInfo>();
for (const [code, name] of NAMES) TABLE.set(code, derive(code, name));

let ciphersAvailable: Set<string> | null = null;

/** Suite properties for a code; unknown codes give an 'unsupported' entry named "0xABCD". */
export function suiteInfo(code: number): SuiteInfo {
  const known = TABLE.get(code);
  if (known === undefined) {
    return {
      code, name: `0x${code.toString(16).padStart(4, '0')}`, tls13: false, kind: 'unsupported', cipher: '', keyLength: 0,
      fixedIvLength: 0, explicitNonceLength: 0, tagLength: 0, mac: null, macLength: 0, prfHash: 'sha256',
      unsupportedReason: 'unknown cipher suite',
    };
  }
  if (known.cipher !== '') {
    ciphersAvailable ??= new Set(getCiphers());
    if (!ciphersAvailable.has(known.cipher)) {
      return { ...known, kind: 'unsupported', unsupportedReason: `cipher ${known.cipher} is not available in this Node.js build` };
    }
  }
  return known;
}

/** Every suite in the table (for docs and tests). */
export function allSuites(): SuiteInfo[] {
  return [...TABLE.values()];
}

export function suiteName(code: number): string {
  return TABLE.get(code)?.name ?? `0x${code.toString(16).padStart(4, '0')}`;
}
