/**
 * One measured pass (run in its own process so that peak RSS is this pass's alone):
 *   node --import tsx bench/logs/one.ts read|summary FILE
 * prints one JSON line: { mode, lines, records, badLines, bytes, seconds, cpuSeconds, maxRssBytes }.
 */
import { readLogs } from '../../src/logs/read.js';
import { LogsSummariser } from '../../src/logs/summary.js';

const [mode, file] = process.argv.slice(2);
if ((mode !== 'read' && mode !== 'summary') || file === undefined) {
  console.error('usage: one.ts read|summary FILE');
  process.exit(2);
}
let records = 0;
let checksum = 0;
const summariser = new LogsSummariser();
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const s = await readLogs([file], mode === 'read' ? (r) => {
  records++;
  checksum += r.kind === 'alb' ? (r.elbStatusCode ?? 0) : 0;
} : (r) => {
  records++;
  summariser.add(r);
});
if (mode === 'summary') summariser.report();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ mode, lines: s.lines, records, badLines: s.badLines, bytes: s.bytes, seconds, cpuSeconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, checksum }));
