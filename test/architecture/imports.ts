/**
 * The import graph of a source tree, for the architecture tests: which module imports which
 * (static, type-only, re-export, side-effect and dynamic imports alike: a cycle through a type or a
 * lazy import is still a cycle in the design), and the cycles in it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Every TypeScript file under `dir`. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every relative import/export specifier in a TypeScript source (static and dynamic). */
export function importsOf(source: string): string[] {
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
  const out: string[] = [];
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** Module → the modules under `root` it imports; names relative to `root`, with `/`. */
export function importGraph(root: string): Map<string, string[]> {
  const name = (p: string): string => relative(root, p).split(sep).join('/');
  const graph = new Map<string, string[]>();
  for (const f of sourceFiles(root)) {
    const targets = new Set<string>();
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
      if (target.startsWith(root + sep)) targets.add(name(target));
    }
    graph.set(name(f), [...targets].sort());
  }
  return graph;
}

/**
 * The import cycles of a graph: one per strongly connected component of more than one module (or a
 * module importing itself), each as a path `a → b → ... → a`. Tarjan's algorithm, iterative.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const edges = graph.get(top.v) ?? [];
      if (top.i < edges.length) {
        const w = edges[top.i++]!;
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const c: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          c.push(w);
        } while (w !== top.v);
        if (c.length > 1 || (graph.get(top.v) ?? []).includes(top.v)) components.push(c);
      }
    }
  }
  return components.map((c) => cyclePath(graph, new Set(c)));
}

/** A shortest cycle through the first (sorted) module of a strongly connected component. */
function cyclePath(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>): string[] {
  const from = [...members].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [from];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === from) {
        const path = [from];
        for (let u: string | undefined = v; u !== undefined && u !== from; u = prev.get(u)) path.unshift(u);
        path.unshift(from);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [from, from];
}
