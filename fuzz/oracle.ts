/**
 * Oracles: what makes a run a failure beyond a crash or a hang.
 *
 * - secret leak: a run of 16 hex digits from a key log (a file given with --keylog, or the
 *   content of a capture's Decryption Secrets Blocks) appears in what a command printed or wrote.
 *   Runs that are a TLS ClientHello.random seen on the wire are allowed: a client random is in
 *   the key log and in the capture, and `tls --json` prints it; it keys nothing by itself.
 * - bad output: a JSON line that does not parse; a terminal control byte in text output; markup
 *   injected into the input showing up unescaped in an HTML report.
 */

/** Length of the hex runs compared: 16 digits (8 bytes) of a secret is already too much. */
export const LEAK_RUN = 16;

const HEX_RUN = /[0-9a-fA-F]{16,}/g;

/** Every 16-digit window of every hex run in `texts`, lower-cased. */
function windows(texts: Iterable<string>, into: Set<string>): Set<string> {
  for (const t of texts) {
    for (const m of t.matchAll(HEX_RUN)) {
      const run = m[0].toLowerCase();
      for (let i = 0; i + LEAK_RUN <= run.length; i++) into.add(run.slice(i, i + LEAK_RUN));
    }
  }
  return into;
}

/**
 * The secret windows of key-log texts: every 16-digit window of their hex runs, minus the windows
 * of `publicHex` (client randoms seen on the wire, as lower-case hex).
 */
export function secretWindows(keyLogTexts: Iterable<string>, publicHex: Iterable<string> = []): Set<string> {
  const secret = windows(keyLogTexts, new Set());
  for (const w of windows(publicHex, new Set())) secret.delete(w);
  return secret;
}

/**
 * The first secret window found in `output`, with where it is (an offset and the text around it,
 * every hex run masked, so a failure report does not print the secret either); null when none.
 */
export function findLeak(output: string, secret: ReadonlySet<string>): { offset: number; context: string } | null {
  if (secret.size === 0) return null;
  for (const m of output.matchAll(HEX_RUN)) {
    const run = m[0].toLowerCase();
    for (let i = 0; i + LEAK_RUN <= run.length; i++) {
      if (secret.has(run.slice(i, i + LEAK_RUN))) {
        const at = m.index + i;
        const mask = (s: string): string => s.replace(/[0-9a-fA-F]{8,}/g, (h) => `<${h.length} hex digits>`);
        const context = `${mask(output.slice(Math.max(0, m.index - 60), m.index))}<${run.length} hex digits, from a key log>${mask(output.slice(m.index + run.length, m.index + run.length + 40))}`;
        return { offset: at, context: JSON.stringify(context) };
      }
    }
  }
  return null;
}

/**
 * The secret windows of `secret` that a text does not contain: a run the traffic itself carries
 * (found in its decrypted bytes) is captured data, not an echo of the key log.
 */
export function withoutCarried(secret: ReadonlySet<string>, carried: string): Set<string> {
  const inTraffic = new Set<string>();
  for (const m of carried.matchAll(HEX_RUN)) {
    const run = m[0].toLowerCase();
    for (let i = 0; i + LEAK_RUN <= run.length; i++) inTraffic.add(run.slice(i, i + LEAK_RUN));
  }
  return new Set([...secret].filter((w) => !inTraffic.has(w)));
}

/** The first line of JSON-lines output that does not parse, or null. */
export function badJsonLine(output: string): string | null {
  for (const line of output.split('\n')) {
    if (line === '') continue;
    try {
      JSON.parse(line);
    } catch {
      return line.length > 120 ? `${line.slice(0, 120)}...` : line;
    }
  }
  return null;
}

/** Whether a whole output is one JSON document that parses. */
export function parsesAsJson(output: string): boolean {
  try {
    JSON.parse(output);
    return true;
  } catch {
    return false;
  }
}

/**
 * Offset of the first byte in text output that could drive a terminal (C0 controls other than
 * tab and newline, DEL, C1 controls), or -1.
 */
export function controlByteAt(output: string): number {
  for (let i = 0; i < output.length; i++) {
    const c = output.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c < 0xa0)) return i;
  }
  return -1;
}

/**
 * Markup the fuzzer plants in log fields and HTTP bytes; an HTML report that shows any of it
 * verbatim did not escape captured data.
 */
export const MARKUP_PAYLOADS = ['<mlx-script>', '<img src=x onerror=mlx()>', '"><svg onload=mlx()>'] as const;

/** The first planted payload an HTML report contains unescaped, or null. */
export function unescapedMarkup(html: string): string | null {
  for (const p of MARKUP_PAYLOADS) if (html.includes(p)) return p;
  return null;
}
