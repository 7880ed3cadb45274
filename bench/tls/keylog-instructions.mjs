// Workloads for counting the key log's instructions with valgrind (the shared machine's load does
// not move instruction counts much; docs/performance.md, "The key log's line check in C"). Runs a
// checkout's build (ROOT: its dist/ and build/, as `npm run build && node scripts/build-native.mjs`
// leave them), so two checkouts can be compared; each mode minus `none` is what that step costs:
//
//   valgrind --tool=callgrind node --single-threaded bench/tls/keylog-instructions.mjs ROOT MODE KEYLOG CAPTURE
//     none   imports only (the baseline)
//     file   readKeyLogs(KEYLOG), as analyze reads --keylog files
//     pass   readKeyLogs(KEYLOG), then the native first pass over CAPTURE (its DSBs not added)
//     dsbs   the same, then the DSBs added to the key log, as analyze orders them (dsbs - pass: that step)
//
// The count is callgrind's "Collected" line (every thread; --separate-threads=yes splits it).
// Without valgrind it prints the step's CPU time and wall time (process.cpuUsage: every thread of
// the process, nothing else running by then; `file` and the adding of `dsbs` only), cold, as one
// CLI run pays them: run it several times alternating two checkouts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, mode, keylog, capture] = process.argv.slice(2);
if (!root || !['none', 'file', 'pass', 'dsbs'].includes(mode ?? '') || !keylog || !capture) {
  console.error('usage: keylog-instructions.mjs ROOT none|file|pass|dsbs KEYLOG CAPTURE');
  process.exit(2);
}
const dir = pathToFileURL(resolve(root, 'dist')).href;
const { KeyLog, formatKeyLogIssue } = await import(`${dir}/tls/keylog.js`);
const { readKeyLogs } = await import(`${dir}/analyze/keylogs.js`);
const { startNativeFirstPass } = await import(`${dir}/flow/first-pass-native.js`);
const notes = [];
const note = (m) => notes.push(m);
const keys = new KeyLog();
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let cpuMs = 0;
let wallMs = 0;
const timed = async (step) => {
  const c = cpu();
  const w = performance.now();
  await step();
  cpuMs = cpu() - c;
  wallMs = performance.now() - w;
};
if (mode === 'file') await timed(() => readKeyLogs([keylog], keys, note, null));
if (mode === 'pass' || mode === 'dsbs') {
  await readKeyLogs([keylog], keys, note, null);
  const run = startNativeFirstPass([capture], { idleGapThresholdSeconds: 30 }, null);
  // (older checkouts return the promise itself)
  const done = await (run.result ?? run);
  if ('declined' in done) throw new Error(`the native first pass declined: ${done.declined}`);
  if (mode === 'dsbs') {
    await timed(() => {
      for (const d of done.dsbs) for (const issue of keys.addDsb(d.type, d.data, undefined, d.lines)) note(formatKeyLogIssue(issue));
    });
  }
}
console.log(`${mode}: ${keys.secretLines} secret lines, ${notes.length} notes; the step ${cpuMs.toFixed(2)} ms CPU, ${wallMs.toFixed(2)} ms wall`);
