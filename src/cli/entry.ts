/**
 * The mirrorlens process: what bin/mirrorlens.js runs (from dist/), and what the CLI tests run
 * (from src/ through tsx), so that tests see the real exit codes, streams and signals.
 */
import { tuneGarbageCollector } from './gc-tuning.js';
import { main } from './main.js';
import { EXIT } from './exit.js';

tuneGarbageCollector();

// A reader that went away (`mirrorlens read x | head`) is not an error.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Only with MIRRORLENS_DEBUG set does an unexpected error reach here: show its stack.
    process.stderr.write(`mirrorlens: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.internal;
  },
);
