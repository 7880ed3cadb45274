/**
 * Runs the analysis's log pass (readLogInputs) over the ALB logs named on the command line into a
 * sink that records every call in order, and prints them as JSON with the pass's report and notes:
 * test/analyze/log-pass-native.test.ts runs it with and without MIRRORLENS_NO_NATIVE=1.
 */
import { readLogInputs, type LogSink } from '../../src/analyze/log-pass.js';
import { nativeAlbScan } from '../../src/logs/alb-scan-native.js';

const calls: unknown[] = [];
const sink: LogSink = {
  time: { noteLogTime: (file, t) => calls.push(['time', file, t]) },
  addLog: (v) => calls.push(['log', v]),
  noteLogTarget: (a, p) => calls.push(['target', a, p]),
  addFlowRow: (v) => calls.push(['flow', v]),
  markFlowLogsGiven: () => calls.push(['flows']),
  noteLogClient: (a, p) => calls.push(['client', a, p]),
  noteLogClientV4: (a, p) => calls.push(['client4', a, p]),
};
const notes: string[] = [];
const logs = await readLogInputs({ captures: [], albLogs: process.argv.slice(2), nlbLogs: [] }, sink, (m) => notes.push(m), null, null);
process.stdout.write(`${nativeAlbScan() !== null ? 'native' : 'javascript'}\n${JSON.stringify({ logs, notes, calls })}`);
