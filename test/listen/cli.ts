// Runs the mirrorlens CLI from source (through tsx), for tests that spawn it as a process.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
