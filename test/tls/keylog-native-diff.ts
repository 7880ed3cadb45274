// The key log read with its lines checked in C (KeyLog.addWholeText / addDsb with the first
// pass's lines: tls/keylog-native.ts) against the JavaScript reading the same text (a KeyLog made
// with native: false: LineWalk + wellFormedLine): the same issues, key lines and secret lines, the same
// lines waiting in the same order (PendingLines), and after decoding the same secrets under the
// same client randoms, queued in the same order. Shared by test/tls/keylog-native.test.ts and
// the fuzz target `keylog`.
import { loadAnalyzeNative } from '../../src/capture/native-analyze.js';
import { DSB_TLS_KEYLOG, KeyLog, type KeyLogIssue } from '../../src/tls/keylog.js';

interface Internals {
  pending: { items: { text: string; offsets: Int32Array | null; slot: number }[] };
  secrets: { randoms: string[] };
  randomQueue: { keys: number[] };
  rsaPms: Map<string, Uint8Array>;
  bySessionId: Map<string, Uint8Array>;
}

const inside = (k: KeyLog): Internals => k as unknown as Internals;
const hex = (b: Uint8Array | null | undefined): string | null => (b == null ? null : Buffer.from(b).toString('hex'));

/** What a KeyLog holds, as JSON: the pending lines, then (decoded) the secrets. */
export function keyLogState(k: KeyLog): string {
  const i = inside(k);
  const pending = i.pending.items.map((p) => ({ text: p.text, offsets: p.offsets === null ? null : Array.from(p.offsets), slot: p.slot }));
  const secretLines = k.secretLines;
  const size = k.size; // decodes what waits
  const secrets = i.secrets.randoms.map((r) => {
    const s = r === '' ? undefined : k.get(r);
    return s === undefined ? null : [r, hex(s.masterSecret), hex(s.preMasterSecret), Object.entries(s.tls13).map(([l, v]) => [l, hex(v)])];
  });
  const maps = (m: Map<string, Uint8Array>) => [...m].map(([key, v]) => [key, hex(v)]);
  return JSON.stringify({ pending, secretLines, size, secrets, queue: i.randomQueue.keys, rsa: maps(i.rsaPms), sessions: maps(i.bySessionId) });
}

export const nativeKeysHere = (): boolean => typeof loadAnalyzeNative().addon?.keyLogLines === 'function';

/** The addon's own check of a Decryption Secrets Block (as the first pass makes it), or null when it leaves the block to the JavaScript. */
export function dsbLines(bytes: Uint8Array): Int32Array | null {
  return (loadAnalyzeNative().addon!.keyLogDsbLines as (b: Uint8Array) => Int32Array | null)(bytes);
}

/**
 * How a text reaches the reader: a file read as latin1 (one byte per character), a file read as
 * UTF-8 (one byte per character when ASCII, as loadKeyLogFile says), any text (addText: copied
 * out as UTF-16), a Decryption Secrets Block's bytes with the lines the first pass checked.
 */
export type Way = 'file-latin1' | 'file-utf8' | 'text' | 'dsb';

/**
 * The first difference between the JavaScript and the native reading of `bytes` (the way given),
 * or null. `ran`: whether the native check ran (a DSB with a UTF-16 byte order mark is left to
 * the JavaScript).
 */
export function keyLogDifference(bytes: Uint8Array, way: Way): { difference: string | null; ran: boolean } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString(way === 'file-utf8' ? 'utf8' : 'latin1');
  const source = way === 'dsb' ? 'pcapng Decryption Secrets Block #1' : 'keys.log';
  const js = new KeyLog({ native: false });
  const want = js.addWholeText(text, source);
  const c = new KeyLog();
  let got: { issues: KeyLogIssue[]; keyLines: number | null };
  let ran = nativeKeysHere();
  if (way === 'dsb') {
    const lines = dsbLines(bytes);
    ran &&= lines !== null;
    got = { issues: c.addDsb(DSB_TLS_KEYLOG, bytes, undefined, lines), keyLines: null };
  } else {
    const oneByte = way === 'file-latin1' || (way === 'file-utf8' && Buffer.byteLength(text, 'utf8') === text.length);
    got = c.addWholeText(text, source, oneByte);
  }
  const a = JSON.stringify(want.issues);
  const b = JSON.stringify(got.issues);
  if (a !== b) return { difference: `issues: js ${a.slice(0, 400)} native ${b.slice(0, 400)}`, ran };
  if (got.keyLines !== null && got.keyLines !== want.keyLines) return { difference: `keyLines: js ${want.keyLines} native ${got.keyLines}`, ran };
  const sa = keyLogState(js);
  const sb = keyLogState(c);
  if (sa !== sb) {
    let at = 0;
    while (sa[at] === sb[at]) at++;
    return { difference: `state at ${at}: js ...${sa.slice(Math.max(0, at - 80), at + 120)} native ...${sb.slice(Math.max(0, at - 80), at + 120)}`, ran };
  }
  return { difference: null, ran };
}
