#!/usr/bin/env node
// Entry point: the CLI bundled from src/cli/entry.ts by `npm run build` (scripts/build-cli.mjs;
// `npm install` runs it through the `prepare` script), or tsc's output of the same entry where
// only tsc ran.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/mirrorlens.js', import.meta.url);
await import(existsSync(bundle) ? bundle.href : '../dist/cli/entry.js');
