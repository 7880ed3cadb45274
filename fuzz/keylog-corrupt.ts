/**
 * Ways a TLS key log (NSS SSLKEYLOGFILE format) goes wrong in the field, each a function of the
 * good text. The key-log leak test feeds every one through every command; the fuzzer picks them
 * at random and stacks them with byte-level mutations.
 *
 * What they model: two processes appending to one SSLKEYLOGFILE (a line cut mid-secret with the
 * next glued on), a file pre-allocated and never filled (NULs), an editor's CRLF or byte order
 * mark, a script that wrote the fields in the wrong order or lost the spaces, PowerShell's `>`
 * writing UTF-16, a disk that filled mid-line, and lines far longer than any real one.
 */

/** One well-formed line split into its three fields (comments and odd lines are kept as `raw`). */
interface Line {
  label: string;
  random: string;
  secret: string;
  raw: string;
}

function parse(text: string): Line[] {
  const out: Line[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    if (raw.trim() === '') continue;
    const f = raw.trim().split(/\s+/);
    out.push({ label: f[0] ?? '', random: f[1] ?? '', secret: f[2] ?? '', raw });
  }
  return out;
}

function join(lines: string[], eol = '\n'): string {
  return lines.map((l) => l + eol).join('');
}

/** A secret-bearing line (three fields, a non-empty secret). */
function keyed(l: Line): boolean {
  return l.secret.length > 0;
}

function half(s: string): number {
  return Math.max(1, s.length >> 1);
}

/** The line's text up to the middle of its secret. */
function cutMidSecret(l: Line): string {
  return `${l.label} ${l.random} ${l.secret.slice(0, half(l.secret))}`;
}

export interface KeyLogCorruption {
  name: string;
  /**
   * The corrupted key log (latin1 bytes, so UTF-16 and NULs survive). `scale` shrinks what is
   * long on purpose (1: a 1 MiB line; the fuzzer, which makes thousands a second, uses less).
   */
  apply(text: string, scale?: number): Buffer;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every corruption class, in a fixed order. */
export const KEYLOG_CORRUPTIONS: readonly KeyLogCorruption[] = [
  {
    // The secret first, or the client random and secret swapped (a script's wrong column order).
    name: 'fields-swapped',
    apply: (t) => latin1(join(parse(t).map((l, i) => (!keyed(l) ? l.raw : i % 2 === 0 ? `${l.secret} ${l.random} ${l.label}` : `${l.label} ${l.secret} ${l.random}`)))),
  },
  {
    // Every line cut in the middle of its secret (a disk that filled, a killed writer).
    name: 'cut-mid-secret',
    apply: (t) => latin1(join(parse(t).map((l) => (keyed(l) ? cutMidSecret(l) : l.raw)))),
  },
  {
    // Two writers: A writes half a line, B writes a whole line, A writes the rest of its line.
    // The result is a line with A's half glued to B's line, then a line starting mid-secret.
    name: 'glued-writers',
    apply: (t) => {
      const lines = parse(t);
      const out: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const a = lines[i]!;
        const b = lines[i + 1];
        if (b === undefined || !keyed(a)) {
          out.push(a.raw);
          if (b !== undefined) out.push(b.raw);
          continue;
        }
        out.push(cutMidSecret(a) + b.raw.trim(), a.secret.slice(half(a.secret)));
      }
      return latin1(join(out));
    },
  },
  {
    // A line cut mid-secret, the next line glued on with no newline between them.
    name: 'glued-no-newline',
    apply: (t) => {
      const lines = parse(t);
      const out: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const a = lines[i]!;
        const b = lines[i + 1];
        out.push(b === undefined ? a.raw : (keyed(a) ? cutMidSecret(a) : a.raw) + b.raw.trim());
      }
      return latin1(join(out));
    },
  },
  { name: 'crlf', apply: (t) => latin1(join(parse(t).map((l) => l.raw.trim()), '\r\n')) },
  { name: 'cr-only', apply: (t) => latin1(join(parse(t).map((l) => l.raw.trim()), '\r')) },
  {
    // NULs: a pre-allocated file's zero pages in front, and NULs in the middle of secrets.
    name: 'nul-bytes',
    apply: (t) => {
      const lines = parse(t).map((l, i) => (keyed(l) && i % 2 === 0 ? `${l.label} ${l.random} ${l.secret.slice(0, 10)}\0\0${l.secret.slice(12)}` : l.raw));
      return Buffer.concat([Buffer.alloc(4096), latin1(join(lines))]);
    },
  },
  {
    // Lines far longer than a real one: a secret repeated, and one 1 MiB line of hex.
    name: 'long-lines',
    apply: (t, scale = 1) => {
      const lines = parse(t).map((l, i) => (keyed(l) && i % 2 === 0 ? `${l.label} ${l.random} ${l.secret.repeat(Math.max(2, Math.round(2000 * scale)))}` : l.raw));
      const first = lines.find((l) => /[0-9a-f]{32}/i.test(l)) ?? 'CLIENT_RANDOM';
      lines.push(first.replace(/\s+/g, '').repeat(Math.ceil(((1 << 20) * scale) / Math.max(1, first.length))));
      return latin1(join(lines));
    },
  },
  {
    // Separators lost or doubled: no spaces, tabs, runs of spaces, trailing blanks.
    name: 'separators',
    apply: (t) =>
      latin1(
        join(
          parse(t).map((l, i) => {
            if (!keyed(l)) return l.raw;
            if (i % 3 === 0) return `${l.label}${l.random}${l.secret}`;
            if (i % 3 === 1) return `${l.label} ${l.random}${l.secret}`;
            return `\t${l.label}\t\t${l.random}   ${l.secret} \t`;
          }),
        ),
      ),
  },
  {
    // Labels cut short, lower-cased or misspelt; secrets upper-cased.
    name: 'labels-mangled',
    apply: (t) =>
      latin1(
        join(
          parse(t).map((l, i) => {
            if (!keyed(l)) return l.raw;
            const label = i % 3 === 0 ? l.label.slice(0, half(l.label)) : i % 3 === 1 ? l.label.toLowerCase() : `${l.label}X`;
            return `${label} ${l.random} ${l.secret.toUpperCase()}`;
          }),
        ),
      ),
  },
  {
    // UTF-16LE with a byte order mark (PowerShell's `>` redirection), and a UTF-8 BOM variant.
    name: 'utf16-and-bom',
    apply: (t) => {
      const lines = parse(t).map((l) => l.raw.trim());
      const mid = lines.length >> 1;
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(join(lines.slice(0, mid)), 'utf16le'), Buffer.from([0xef, 0xbb, 0xbf]), latin1(join(lines.slice(mid)))]);
    },
  },
  {
    // Field counts off: a secret missing, an extra field, a field repeated.
    name: 'field-count',
    apply: (t) =>
      latin1(
        join(
          parse(t).map((l, i) => {
            if (!keyed(l)) return l.raw;
            if (i % 3 === 0) return `${l.label} ${l.secret}`;
            if (i % 3 === 1) return `${l.label} ${l.random} ${l.secret} ${l.secret}`;
            return `${l.label} ${l.random} ${l.random} ${l.secret}`;
          }),
        ),
      ),
  },
  {
    // Control bytes and high latin1 bytes inside fields (a binary file appended, a terminal paste).
    name: 'control-bytes',
    apply: (t) =>
      latin1(
        join(
          parse(t).map((l, i) => {
            if (!keyed(l)) return l.raw;
            const cut = half(l.secret);
            const junk = i % 2 === 0 ? '\x1b[31m' : '\x7f\xff\u00e9\x08';
            return `${l.label} ${l.random} ${l.secret.slice(0, cut)}${junk}${l.secret.slice(cut)}`;
          }),
        ),
      ),
  },
];

/**
 * The latin1 text of a key log as the project reads it, plus the same text with NULs removed (a
 * UTF-16 file's characters): the leak oracle takes its hex runs from both.
 */
export function keyLogTexts(bytes: Uint8Array): string[] {
  const t = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return t.includes('\0') ? [t, t.replace(/\0/g, '')] : [t];
}
