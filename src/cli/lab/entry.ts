// Runs the mirrorlens CLI in a child process of the lab (listen, analyze), from src/ or dist/.
import { main } from '../main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mirrorlens: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
