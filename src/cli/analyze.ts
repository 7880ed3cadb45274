/**
 * `mirrorlens analyze`: correlate captures with logs and name the cause of every error.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { CliIO, Command } from './command.js';
import { numberOption, parseCommandArgs } from './command.js';
import { analyze } from '../analyze/analyze.js';
import type { AnalyzeInputs } from '../analyze/options.js';
import { renderHtml } from '../report/html.js';
import { renderFindingEvidence, renderJson } from '../report/json.js';
import type { Report } from '../analyze/model.js';
import { renderText } from '../report/text.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { closeRecorder, recorderFrom, STORE_OPTIONS, STORE_USAGE, WINDOW_OPTIONS, windowFrom } from './store-options.js';

const USAGE = `Usage: mirrorlens analyze CAPTURE... [options]
       mirrorlens analyze --store URL [--since T] [--until T] [--alb-log PATH]... [--flow-log PATH]...

Explains every load-balancer error (5xx in the access log, or failed requests in the capture)
from the packets behind it: idle-timeout resets, keep-alive races, refused or dropped connects,
target timeouts... with evidence, a timeline and the fix.

CAPTURE is any capture 'read' accepts (pcap, pcapng, .gz; VXLAN/GENEVE-encapsulated or plain).

Options:
  --keylog FILE        TLS key log (SSLKEYLOGFILE format); repeatable. Keys embedded in pcapng
                       (Decryption Secrets Blocks) are used too.
  --alb-log PATH       ALB (or Classic LB) access log file/dir/.gz; repeatable
  --nlb-log PATH       NLB access log; repeatable
  --flow-log PATH      VPC flow log; repeatable
  --format F           text (default), json or html
  --out FILE           write the report to FILE instead of stdout
  --evidence DIR       per finding: a small pcapng of the involved connections with only the keys
                       they need (opens decrypted in Wireshark), and the finding as JSON
  --mirror-filter FILE keep only the packets these AWS Traffic Mirror filter rules accept (the
                       JSON/YAML file 'listen --filter' takes; see docs/listen.md)
  --all                list every connection and transaction in the report (memory grows with input)
  --max-skew SECONDS   largest log/capture clock difference to tolerate (default 10)
  --idle-gap SECONDS   report connection silences longer than this (default 30)
  --no-color           no ANSI colours in text output
${STORE_USAGE}
  Without CAPTURE, --store is read instead: the records every node wrote in the window are
  correlated (the client leg from one listener, the target leg from another) and explained.
  --since T, --until T, --around T[±D]   the window (default: everything in the store)
`;

async function writeOut(path: string | undefined, text: string, io: CliIO): Promise<void> {
  if (!path) {
    io.stdout.write(text);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const ws = createWriteStream(path);
    ws.on('error', (e) => reject(new MirrorlensError(ErrorCode.FileOpen, `cannot write report: ${e.message}`, { file: path })));
    ws.end(text, () => resolve());
  });
}

export function render(report: Report, format: string, color: boolean): string {
  if (format === 'json') return renderJson(report);
  if (format === 'html') return renderHtml(report);
  return renderText(report, { color });
}

export const command: Command = {
  summary: 'correlate captures with logs and name the cause of every load-balancer error',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('analyze', argv, {
      keylog: { type: 'string', multiple: true },
      'alb-log': { type: 'string', multiple: true },
      'nlb-log': { type: 'string', multiple: true },
      'flow-log': { type: 'string', multiple: true },
      format: { type: 'string' },
      out: { type: 'string' },
      evidence: { type: 'string' },
      all: { type: 'boolean' },
      'mirror-filter': { type: 'string' },
      'max-skew': { type: 'string' },
      'idle-gap': { type: 'string' },
      'no-color': { type: 'boolean' },
      ...STORE_OPTIONS,
      ...WINDOW_OPTIONS,
    });
    const format = (values.format as string | undefined) ?? 'text';
    if (!['text', 'json', 'html'].includes(format)) throw new MirrorlensError(ErrorCode.Usage, `analyze: --format wants text, json or html, got '${format}'`);
    const albLogs = (values['alb-log'] as string[] | undefined) ?? [];
    const nlbLogs = (values['nlb-log'] as string[] | undefined) ?? [];
    const flowLogs = (values['flow-log'] as string[] | undefined) ?? [];
    const say = (l: string) => io.stderr.write(`${l}\n`);
    if (positionals.length === 0 && values.store !== undefined) return analyzeFromStore(values, { albLogs, nlbLogs, flowLogs }, format, io);
    if (positionals.length === 0 && albLogs.length + nlbLogs.length + flowLogs.length === 0) {
      throw new MirrorlensError(ErrorCode.Usage, "analyze: give at least one capture or log (see 'mirrorlens analyze --help')");
    }
    const inputs: AnalyzeInputs = { captures: positionals, keylogs: (values.keylog as string[] | undefined) ?? [], albLogs, nlbLogs, flowLogs };
    const showProgress = Boolean(io.stderr.isTTY) && !io.env.CI;
    // The filter and evidence modules (capture classification, the pcapng writer) are loaded only
    // when asked for: about a tenth of a second of start-up otherwise.
    const filter = values['mirror-filter']
      ? (await import('../capture/mirror-filter.js')).mirrorFilterPredicate(values['mirror-filter'] as string)
      : undefined;
    const recorder = recorderFrom('analyze', values, say);
    const { report, context } = await analyze(inputs, {
      recorder,
      all: Boolean(values.all),
      keepKeyLogTexts: Boolean(values.evidence),
      maxSkewSeconds: numberOption('analyze', 'max-skew', values['max-skew'] as string | undefined, 10),
      flow: {
        idleGapThresholdSeconds: numberOption('analyze', 'idle-gap', values['idle-gap'] as string | undefined, 30),
        filter,
      },
      onProgress: showProgress ? (p) => io.stderr.write(`\r  reading captures: ${p.packets.toLocaleString('en-US')} packets`) : undefined,
    });
    if (showProgress) io.stderr.write('\r\x1b[K');
    const color = format === 'text' && !values.out && Boolean(io.stdout.isTTY) && !values['no-color'] && !io.env.NO_COLOR;
    await writeOut(values.out as string | undefined, render(report, format, color), io);
    if (values.evidence) {
      const dir = values.evidence as string;
      await mkdir(dir, { recursive: true });
      const { writeEvidence } = await import('../analyze/evidence.js');
      const written = await writeEvidence(report, context, inputs, dir, renderFindingEvidence);
      io.stderr.write(`evidence: ${written} file(s) in ${dir}\n`);
    }
    return closeRecorder('analyze', recorder, io);
  },
};

async function analyzeFromStore(values: Record<string, unknown>, logs: { albLogs: string[]; nlbLogs: string[]; flowLogs: string[] }, format: string, io: CliIO): Promise<number> {
  const window = windowFrom('analyze', values as Record<string, string | undefined>);
  const { openReader } = await import('../store/open.js');
  const { analyzeStore } = await import('../analyze/from-store.js');
  const reader = await openReader(values.store as string);
  try {
    const { report, rows, nodes } = await analyzeStore(reader, window, logs, {
      maxSkewSeconds: numberOption('analyze', 'max-skew', values['max-skew'] as string | undefined, 10),
      all: Boolean(values.all),
      onWarning: (m) => io.stderr.write(`analyze: ${m}\n`),
    });
    io.stderr.write(`analyze: ${reader.where}: ${rows.conns ?? 0} connections, ${rows.transactions ?? 0} transactions, ${rows.lb_log ?? 0} log lines from ${nodes.length} node(s)${nodes.length ? ` (${nodes.join(', ')})` : ''}\n`);
    const color = format === 'text' && !values.out && Boolean(io.stdout.isTTY) && !values['no-color'] && !io.env.NO_COLOR;
    await writeOut(values.out as string | undefined, render(report, format, color), io);
    return 0;
  } finally {
    await reader.close();
  }
}
