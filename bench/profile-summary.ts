/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): where the samples fall, by function and by
 * pipeline stage (the src/ folder: wire, capture, flow, tls, http, logs, correlate, diagnose,
 * report, cli). Shares are of the samples (idle left out), which stay meaningful on a busy
 * machine where seconds do not.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bin/mirrorlens.js analyze CAPTURE --keylog KEYS --alb-log LOG --format json > /dev/null
 *   node --import tsx bench/profile-summary.ts /tmp/prof [more.cpuprofile ...] [--top 25] [--json] [--inclusive fnA,fnB]
 *
 * bin/mirrorlens.js runs the bundle (dist/bundle/: many modules a file): its frames are put back
 * in their src/ files through the bundle's source maps. tsc's output (dist/cli/entry.js, one file
 * per module) needs none.
 *
 * Several profiles (or a directory of them) are added together. Three views:
 *   - by stage: each sample goes to the stage of the innermost mirrorlens frame on its stack, so a
 *     call into node:crypto from src/tls counts for tls; the column "via" splits that into the
 *     stage's own JavaScript and what it calls (node:crypto, node:buffer, native builtins, npm
 *     packages). Samples with no mirrorlens frame are GC, "(program)" (V8/native work not
 *     attributed to a JavaScript function: compiling, module loading, runtime), or start-up.
 *   - by leaf category (self time): the stage or node module whose code was running.
 *   - top functions by self time, with file and line.
 * --inclusive adds the share of samples with the named functions anywhere on the stack (total time).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string' }, json: { type: 'boolean' }, inclusive: { type: 'string' } },
});
const top = Number(values.top ?? 25);
if (positionals.length === 0) {
  console.error('usage: node --import tsx bench/profile-summary.ts PROFILE.cpuprofile|DIR... [--top N] [--json]');
  process.exit(2);
}
const files: string[] = [];
for (const p of positionals) {
  if (statSync(p).isDirectory()) {
    for (const f of readdirSync(p).sort()) if (f.endsWith('.cpuprofile')) files.push(join(p, f));
  } else files.push(p);
}
if (files.length === 0) {
  console.error('no .cpuprofile files found');
  process.exit(2);
}

// --- source maps (v3) of bundled files: a frame's generated line/column -> its src/ file and line.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The numbers of one Base64-VLQ segment. */
function vlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const d = B64.indexOf(ch);
    value += (d & 31) * 2 ** shift;
    if (d & 32) shift += 5;
    else {
      out.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Per generated line: the segments' columns (ascending) with their source index and source line. */
interface SourceMap {
  sources: string[];
  lines: Array<{ col: number[]; src: number[]; line: number[] }>;
}
const sourceMaps = new Map<string, SourceMap | null>();

function sourceMapOf(url: string): SourceMap | null {
  if (sourceMaps.has(url)) return sourceMaps.get(url)!;
  let map: SourceMap | null = null;
  const file = url.startsWith('file:') ? fileURLToPath(url) : '';
  if (file && existsSync(`${file}.map`)) {
    const raw = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
    const base = resolve(dirname(file), raw.sourceRoot ?? '');
    map = { sources: raw.sources.map((p) => pathToFileURL(resolve(base, p)).href), lines: [] };
    let src = 0;
    let line = 0;
    for (const text of raw.mappings.split(';')) {
      const l = { col: [] as number[], src: [] as number[], line: [] as number[] };
      let col = 0;
      for (const seg of text ? text.split(',') : []) {
        const v = vlq(seg);
        col += v[0]!;
        if (v.length < 4) continue;
        src += v[1]!;
        line += v[2]!;
        l.col.push(col);
        l.src.push(src);
        l.line.push(line);
      }
      map.lines.push(l);
    }
  }
  sourceMaps.set(url, map);
  return map;
}

/** The frame where its source map (if its file has one) puts it: the src/ file and line. */
function original(cf: CallFrame): CallFrame {
  const map = cf.url ? sourceMapOf(cf.url) : null;
  const l = map?.lines[cf.lineNumber];
  if (!map || !l || l.col.length === 0) return cf;
  let lo = 0;
  let hi = l.col.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (l.col[mid]! <= cf.columnNumber) lo = mid;
    else hi = mid - 1;
  }
  return { ...cf, url: map.sources[l.src[lo]!]!, lineNumber: l.line[lo]!, columnNumber: 0 };
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/** Category of a script URL: 'stage:wire', 'node:crypto', 'npm:yaml', 'other:file'. */
function categoryOf(url: string): string | null {
  if (!url) return null;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const ours = /\/(?:dist|src)\/([^/]+)\/(?:[^/]+\/)*[^/]+\.[jt]s$/.exec(url) ?? /\/(?:dist|src)\/(index)\.[jt]s$/.exec(url);
  if (ours) return `stage:${ours[1]}`;
  if (/\/bin\/mirrorlens\.js$/.test(url)) return 'stage:cli';
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    let mod = (m?.[1] ?? url).replace(/\.js$/, '');
    if (mod === 'streams') mod = 'stream';
    if (mod === 'modules' || mod === 'main' || mod === 'bootstrap') mod = 'modules';
    return `node:${mod}`;
  }
  return `other:${basename(url)}`;
}

const inclusiveNames = (values.inclusive ?? '').split(',').filter((n) => n !== '');
const byInclusive = new Map<string, number>();
const bySelfFn = new Map<string, number>();
const bySelfCat = new Map<string, number>();
const byStage = new Map<string, Map<string, number>>();
let samples = 0;
let idle = 0;
let wallMs = 0;

function add<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  for (const n of prof.nodes) n.callFrame = original(n.callFrame);
  wallMs += (prof.endTime - prof.startTime) / 1000;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Per node: self label, leaf category, stage (innermost mirrorlens frame) and "via".
  const memo = new Map<number, { fn: string; cat: string; stage: string; via: string; idle: boolean }>();
  const describe = (id: number) => {
    const hit = memo.get(id);
    if (hit) return hit;
    const node = byId.get(id)!;
    const cf = node.callFrame;
    const name = cf.functionName || '(anonymous)';
    let cat: string;
    let stage: string;
    let via: string;
    if (SPECIAL.has(name) && !cf.url) {
      cat = name === '(garbage collector)' ? 'GC' : name;
      stage = cat;
      via = '';
    } else {
      // Leaf category: the URL's, or for a native function (no URL) "native" under the
      // nearest JavaScript caller's category.
      let leafCat = categoryOf(cf.url);
      let nativeName = '';
      if (!leafCat) {
        nativeName = name;
        let p = parent.get(id);
        while (p !== undefined && !categoryOf(byId.get(p)!.callFrame.url)) p = parent.get(p);
        const pc = p === undefined ? null : categoryOf(byId.get(p)!.callFrame.url);
        leafCat = pc && pc.startsWith('stage:') ? `${pc} (native)` : pc ?? 'native';
      }
      cat = leafCat;
      // Stage: innermost frame in our code, and the outermost non-ours module below it.
      let cur: number | undefined = id;
      let viaCat = '';
      while (cur !== undefined) {
        const c = categoryOf(byId.get(cur)!.callFrame.url);
        if (c && c.startsWith('stage:')) break;
        if (c) viaCat = c;
        cur = parent.get(cur);
      }
      if (cur === undefined) {
        stage = 'outside mirrorlens code';
        via = viaCat || (nativeName ? 'native' : '');
      } else {
        stage = categoryOf(byId.get(cur)!.callFrame.url)!.slice('stage:'.length);
        via = viaCat ? viaCat : nativeName ? `native builtins` : 'own JavaScript';
      }
    }
    const where = cf.url ? `${cf.url.replace(/^.*\/(?=(?:dist|src|node_modules|bin)\/)/, '')}:${cf.lineNumber + 1}` : '(native)';
    const d = { fn: `${name} ${where}`, cat, stage, via, idle: name === '(idle)' };
    memo.set(id, d);
    return d;
  };

  // Per node: which of the --inclusive functions are on its stack.
  const onStack = new Map<number, string[]>();
  const stackNames = (id: number): string[] => {
    let r = onStack.get(id);
    if (r) return r;
    const p = parent.get(id);
    const up = p === undefined ? [] : stackNames(p);
    const name = byId.get(id)!.callFrame.functionName;
    r = inclusiveNames.includes(name) && !up.includes(name) ? [...up, name] : up;
    onStack.set(id, r);
    return r;
  };

  for (const id of prof.samples) {
    const d = describe(id);
    if (d.idle) {
      idle++;
      continue;
    }
    samples++;
    if (inclusiveNames.length > 0) for (const n of stackNames(id)) add(byInclusive, n);
    add(bySelfFn, `${d.fn} [${d.cat}]`);
    add(bySelfCat, d.cat);
    let m = byStage.get(d.stage);
    if (!m) byStage.set(d.stage, (m = new Map()));
    add(m, d.via);
  }
}

const pct = (n: number) => `${((100 * n) / samples).toFixed(1)} %`;
const sorted = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);
const stageRows = sorted(new Map([...byStage].map(([s, m]) => [s, [...m.values()].reduce((a, b) => a + b, 0)])));

if (values.json) {
  console.log(
    JSON.stringify(
      {
        files: files.length,
        samples,
        idleSamples: idle,
        byStage: stageRows.map(([s, n]) => ({ stage: s, samples: n, share: n / samples, via: Object.fromEntries(sorted(byStage.get(s)!)) })),
        bySelfCategory: sorted(bySelfCat).map(([c, n]) => ({ category: c, samples: n, share: n / samples })),
        inclusive: Object.fromEntries(inclusiveNames.map((n) => [n, (byInclusive.get(n) ?? 0) / samples])),
        topFunctions: sorted(bySelfFn).slice(0, top).map(([f, n]) => ({ function: f, samples: n, share: n / samples })),
      },
      null,
      2,
    ),
  );
} else {
  console.log(`${files.length} profile(s), ${samples} samples (idle left out: ${idle}), profiled wall time ${(wallMs / 1000).toFixed(1)} s`);
  console.log('\n## by stage (innermost mirrorlens frame; what it spent it on)\n');
  console.log('| stage | share | via |');
  console.log('|---|---:|---|');
  for (const [s, n] of stageRows) {
    const via = sorted(byStage.get(s)!)
      .filter(([v]) => v)
      .map(([v, k]) => `${v} ${pct(k)}`)
      .join(', ');
    console.log(`| ${s} | ${pct(n)} | ${via} |`);
  }
  console.log('\n## by leaf category (self time)\n');
  console.log('| category | share |');
  console.log('|---|---:|');
  for (const [c, n] of sorted(bySelfCat)) console.log(`| ${c} | ${pct(n)} |`);
  console.log(`\n## top ${top} functions (self time)\n`);
  console.log('| # | function | share |');
  console.log('|---:|---|---:|');
  sorted(bySelfFn)
    .slice(0, top)
    .forEach(([f, n], i) => console.log(`| ${i + 1} | \`${f}\` | ${pct(n)} |`));
}
if (!values.json && inclusiveNames.length > 0) {
  console.log('\n## total time (function anywhere on the stack)\n');
  console.log('| function | share |');
  console.log('|---|---:|');
  for (const n of inclusiveNames) console.log(`| \`${n}\` | ${pct(byInclusive.get(n) ?? 0)} |`);
}
