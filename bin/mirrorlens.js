#!/usr/bin/env node
// Entry point: the compiled CLI (built by `npm install` through the `prepare` script).
import { main } from '../dist/cli/main.js';
import { tuneGarbageCollector } from '../dist/cli/gc-tuning.js';

tuneGarbageCollector();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`mirrorlens: internal error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
