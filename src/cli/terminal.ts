/**
 * Text for a terminal: wrapped to its width when stdout is a TTY, left as it is in pipes and files
 * (so grep, cut and diff see one record a line). Width counts what shows: ANSI colour sequences
 * take no column.
 */
import type { CliIO } from './command.js';

const ANSI = /\x1b\[[0-9;]*m/g;

/** Columns a string takes on a terminal (ANSI colour sequences excluded; one column a code point). */
export function visibleLength(s: string): number {
  let n = 0;
  for (const _ of s.replace(ANSI, '')) n++;
  return n;
}

/** The width to wrap stdout's text to: the terminal's columns on a TTY (80 if unknown), null in a pipe. */
export function wrapWidth(io: CliIO): number | null {
  if (!io.stdout.isTTY) return null;
  const c = io.stdout.columns;
  return typeof c === 'number' && c >= 20 ? c : 80;
}

/**
 * Wraps one line at spaces to `width` columns; continuation lines start with `indent` spaces.
 * A word longer than the room left is cut where the line ends (URLs, paths).
 */
export function wrapHanging(line: string, width: number, indent: number): string {
  if (visibleLength(line) <= width) return line;
  const pad = ' '.repeat(Math.min(indent, Math.max(0, width - 20)));
  const lead = /^\s*/.exec(line)![0];
  const out: string[] = [];
  let cur = lead;
  let curLen = visibleLength(lead);
  let start = curLen;
  const newLine = (): void => {
    out.push(cur.trimEnd());
    cur = pad;
    curLen = start = pad.length;
  };
  // Words keep the spaces between them (column alignment) unless a line starts there.
  let gap = '';
  for (const tok of line.slice(lead.length).match(/\S+|\s+/g) ?? []) {
    if (/^\s/.test(tok)) {
      gap = tok;
      continue;
    }
    let w = tok;
    for (;;) {
      const wl = visibleLength(w);
      const sep = curLen > start ? gap.length : 0;
      if (curLen + sep + wl <= width) {
        cur += (sep ? gap : '') + w;
        curLen += sep + wl;
        break;
      }
      if (curLen > start) {
        newLine();
        continue;
      }
      // Alone on a line and still too long: cut it where the line ends.
      const chars = [...w];
      const room = Math.max(1, width - curLen);
      cur += chars.slice(0, room).join('');
      w = chars.slice(room).join('');
      newLine();
      if (w.length === 0) break;
    }
    gap = '';
  }
  if (curLen > start || out.length === 0) out.push(cur);
  return out.join('\n');
}

/**
 * Wraps every line of a text to `width`; a continuation line is indented two more than its line.
 */
export function wrapText(text: string, width: number): string {
  return text
    .split('\n')
    .map((l) => wrapHanging(l, width, /^\s*/.exec(l)![0].length + 2))
    .join('\n');
}

/** Writes text to stdout, wrapped to the terminal when stdout is one. */
export function writeWrapped(io: CliIO, text: string): void {
  const w = wrapWidth(io);
  io.stdout.write(w === null ? text : wrapText(text, w));
}

/**
 * A table (first row the header) with columns padded to their widest cell. On a terminal
 * narrower than the table, the columns named in `shrink` (widest first) are cut with '…' until it
 * fits or they are 8 wide, then the columns in `drop` are left out in that order; in a pipe every
 * cell is whole.
 */
export function formatTable(input: string[][], width: number | null, shrink: number[] = [], drop: number[] = []): string[] {
  let rows = input;
  if (width !== null && drop.length > 0) {
    const full = (r: string[][]): number => {
      const n = r[0]?.length ?? 0;
      const w = Array.from({ length: n }, (_, i) => Math.max(0, ...r.map((x) => visibleLength(x[i] ?? ''))));
      const shrunk = w.map((v, i) => (shrink.includes(i) ? Math.min(v, 8) : v));
      return shrunk.reduce((a, b) => a + b, 0) + 2 * (n - 1);
    };
    const gone = new Set<number>();
    for (const d of drop) {
      if (full(rows) <= width) break;
      gone.add(d);
      rows = input.map((r) => r.filter((_, i) => !gone.has(i)));
    }
    const kept = input[0]!.map((_, i) => i).filter((i) => !gone.has(i));
    shrink = shrink.filter((i) => !gone.has(i)).map((i) => kept.indexOf(i));
  }
  const cols = rows[0]?.length ?? 0;
  const widths = Array.from({ length: cols }, (_, i) => Math.max(0, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  if (width !== null) {
    const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (cols - 1);
    while (total() > width) {
      const i = shrink.filter((c) => widths[c]! > 8).sort((a, b) => widths[b]! - widths[a]!)[0];
      if (i === undefined) break;
      widths[i] = Math.max(8, widths[i]! - (total() - width));
    }
  }
  const cut = (s: string, w: number): string => {
    if (visibleLength(s) <= w) return s;
    const chars = [...s];
    return `${chars.slice(0, w - 1).join('')}…`;
  };
  return rows.map((r) =>
    r
      .map((c, i) => {
        const v = cut(c, widths[i]!);
        return i === r.length - 1 ? v : v + ' '.repeat(widths[i]! - visibleLength(v));
      })
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Help text within `width` columns: a longer line is wrapped at spaces, its continuation lines
 * aligned with its description (the text after the option and a gap of two or more spaces), or
 * indented two more than the line.
 */
export function wrapHelp(text: string, width = 80): string {
  return text
    .split('\n')
    .map((l) => {
      if (visibleLength(l) <= width) return l;
      const col = /^(\s*-\S.*?\s{2,})\S/.exec(l);
      const indent = col !== null && col[1]!.length <= width / 2 ? col[1]!.length : /^\s*/.exec(l)![0].length + 2;
      return wrapHanging(l, width, indent);
    })
    .join('\n');
}
