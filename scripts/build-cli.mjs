#!/usr/bin/env node
// Bundles the CLI for bin/mirrorlens.js: src/cli/entry.ts and the src/ modules it imports, one ESM
// file per part that is loaded together, into dist/bundle/ (run by `npm run build`, after tsc).
//
// Why: from tsc's output `mirrorlens analyze` loads ~150 modules, and resolving, reading and
// compiling them one by one was a third of a small run (docs/performance.md, "Start-up: the
// bundled CLI"). The bundle keeps the lazy loading of src/ (each `await import()` of a src/
// module is a split point: a command, the store, AWS, the lab, evidence... load only when used),
// so a command loads a few dozen files instead. npm packages stay outside (imported from node_modules as
// before); dist/index.js (the library API) and the type declarations stay tsc's.
//
// Usage: node scripts/build-cli.mjs [OUTDIR]   (default dist/bundle)
// OUTDIR must be two levels below the package root, like dist/cli/: the code finds the package's
// files (examples/, lab/, build/ with the native addon, native/) from its own location.
import { rm } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');

/** Builds the CLI bundle into `outdir`; returns esbuild's metafile (inputs and outputs). */
export async function buildCli(outdir = resolve(root, 'dist', 'bundle')) {
  const depth = relative(root, outdir).split(sep);
  if (depth.length !== 2 || depth.includes('..')) throw new RangeError(`build-cli: ${outdir} is not two levels below ${root}`);
  // Chunk names carry a content hash: clear the old ones.
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { mirrorlens: 'src/cli/entry.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildCli(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
