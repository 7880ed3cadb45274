/**
 * `mirrorlens analyze`: correlate captures with logs and name the cause of every error.
 */
import { stat } from 'node:fs/promises';
import type { CliIO, Command } from './command.js';
import { INCIDENT_HELP, INCIDENT_OPTIONS, captureArgs, choiceOption, incidentOption, numberOption, parseCommandArgs } from './command.js';
import { checkOutputDir, checkOutputFile, writeOutputFile } from './output.js';
import { EXIT } from './exit.js';
import { writeWrapped } from './terminal.js';
import { analyze } from '../analyze/analyze.js';
import { ANALYZE_IDLE_GAP_SECONDS, type AnalyzeInputs } from '../analyze/options.js';
import { expandCaptureInputs } from '../capture/inputs.js';
import { formatWindow, isAllTime } from '../capture/window.js';
import type { Severity } from '../diagnose/finding.js';
import { renderFindingEvidence, renderJson } from '../report/json.js';
import type { Report } from '../analyze/model.js';
import { renderText } from '../report/text.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { closeRecorder, recorderFrom, STORE_OPTIONS, STORE_USAGE, windowFrom } from './store-options.js';

const USAGE = `Usage: mirrorlens analyze CAPTURE... [options]
       mirrorlens analyze --store URL [--since T] [--until T] [--alb-log PATH]...

Explains every load-balancer error (5xx in the access log, or failed requests
in the capture) from the packets behind it: idle-timeout resets, keep-alive
races, refused or dropped connects, target timeouts... with evidence, a
timeline and the fix.

CAPTURE is a capture file (pcap, pcapng, .gz; VXLAN/GENEVE-encapsulated or
plain), a directory of them (e.g. listen --out: rotated files in time order),
a quoted glob ('cap-*.pcapng'), an s3:// prefix, or - for stdin. -r FILE names
one too.

Inputs:
  -k, --keylog FILE      TLS key log (SSLKEYLOGFILE); repeatable. Keys embedded
                         in pcapng (Decryption Secrets Blocks) are used too.
      --alb-log PATH     ALB (or Classic LB) access log: file, directory, .gz;
                         repeatable
      --nlb-log PATH     NLB access log; repeatable
      --flow-log PATH    VPC flow log; repeatable
      --mirror-filter FILE  keep only the packets these AWS Traffic Mirror
                         filter rules accept (the file 'listen --filter' takes)

Output:
      --format F         text (default), json or html
  -j, --json             the report as JSON (same as --format json)
  -o, --out FILE         write the report to FILE instead of stdout
      --evidence DIR     per finding: a small pcapng of its connections with
                         only the keys they need, and the finding as JSON
      --all              list every connection and transaction (memory grows
                         with the input)
      --full             read every connection through TLS and HTTP (default,
                         with an ALB access log: only those a finding can
                         need; the report's stats say which and why)
      --no-color         no ANSI colours in text output
      --fail-on LEVEL    exit 1 if a finding of LEVEL or worse is found: error,
                         warning, info; never (default) exits 0 either way

${INCIDENT_HELP}

Tuning:
      --max-skew SECONDS largest log/capture clock difference (default 10)
      --idle-gap SECONDS record connection silences longer than this
                         (default 1)

Store:
${STORE_USAGE}
  Without CAPTURE, --store is read instead: the records every node wrote in
  the window are correlated and explained.

Text goes to a terminal wrapped to its width, to a pipe one record a line.
Exit codes: 0 ok, 1 a finding at --fail-on level, 2 usage, 3 an input cannot
be read, 4 an input is not what it should be, 5 the output cannot be written.
`;

/** The report as text, JSON or HTML (the HTML renderer is loaded only when asked for). */
export async function render(report: Report, format: string, color: boolean): Promise<string> {
  if (format === 'json') return renderJson(report);
  if (format === 'html') return (await import('../report/html.js')).renderHtml(report);
  return renderText(report, { color });
}

const SEVERITY_RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

/** Whether the report has a finding at `level` or worse. */
export function failsOn(report: Report, level: 'error' | 'warning' | 'info' | 'never'): boolean {
  if (level === 'never') return false;
  const min = SEVERITY_RANK[level];
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= min);
}

async function checkInputFile(kind: string, path: string): Promise<void> {
  // stdin, and s3:// / cwl:// inputs (checked when listed) are not local files.
  if (path === '-' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return;
  try {
    await stat(path);
  } catch (e) {
    const { fileProblem } = await import('../capture/inputs.js');
    throw new MirrorlensError(ErrorCode.FileOpen, `cannot open ${kind}: ${fileProblem(e)}`, { file: path });
  }
}

export const command: Command = {
  summary: 'correlate captures with logs and name the cause of every load-balancer error',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('analyze', argv, {
      read: { type: 'string', multiple: true },
      keylog: { type: 'string', multiple: true },
      'alb-log': { type: 'string', multiple: true },
      'nlb-log': { type: 'string', multiple: true },
      'flow-log': { type: 'string', multiple: true },
      format: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      evidence: { type: 'string' },
      all: { type: 'boolean' },
      full: { type: 'boolean' },
      'mirror-filter': { type: 'string' },
      'max-skew': { type: 'string' },
      'idle-gap': { type: 'string' },
      'no-color': { type: 'boolean' },
      'fail-on': { type: 'string' },
      ...STORE_OPTIONS,
      ...INCIDENT_OPTIONS,
    });
    let format = choiceOption('analyze', 'format', values.format as string | undefined, ['text', 'json', 'html'] as const, 'text');
    if (values.json === true) {
      if (values.format !== undefined && format !== 'json') throw new MirrorlensError(ErrorCode.Usage, `--json and --format ${format} ask for two formats (see 'mirrorlens analyze --help')`);
      format = 'json';
    }
    const failOn = choiceOption('analyze', 'fail-on', values['fail-on'] as string | undefined, ['error', 'warning', 'info', 'never'] as const, 'never');
    const incident = incidentOption('analyze', values);
    const maxSkewSeconds = numberOption('analyze', 'max-skew', values['max-skew'] as string | undefined, 10);
    const idleGap = numberOption('analyze', 'idle-gap', values['idle-gap'] as string | undefined, ANALYZE_IDLE_GAP_SECONDS);
    const albLogs = (values['alb-log'] as string[] | undefined) ?? [];
    const nlbLogs = (values['nlb-log'] as string[] | undefined) ?? [];
    const flowLogs = (values['flow-log'] as string[] | undefined) ?? [];
    const say = (l: string) => io.stderr.write(`${l}\n`);
    const captureNames = captureArgs(values, positionals);
    if (captureNames.length === 0 && values.store !== undefined) return analyzeFromStore(values, { albLogs, nlbLogs, flowLogs }, format, io, failOn);
    if (captureNames.length === 0 && albLogs.length + nlbLogs.length + flowLogs.length === 0) {
      throw new MirrorlensError(ErrorCode.Usage, "give at least one capture or log (see 'mirrorlens analyze --help')");
    }
    // Everything that can fail is checked before the (long) analysis: outputs first.
    const out = values.out as string | undefined;
    if (out !== undefined) await checkOutputFile(out, 'report');
    const evidenceDir = values.evidence as string | undefined;
    if (evidenceDir !== undefined) await checkOutputDir(evidenceDir, 'evidence directory');
    const keylogs = (values.keylog as string[] | undefined) ?? [];
    for (const k of keylogs) await checkInputFile('key log', k);
    for (const l of [...albLogs, ...nlbLogs, ...flowLogs]) await checkInputFile('log', l);
    const captures = await expandCaptureInputs(captureNames);
    const inputs: AnalyzeInputs = { captures, keylogs, albLogs, nlbLogs, flowLogs };
    const showProgress = Boolean(io.stderr.isTTY) && !io.env.CI;
    // The filter and evidence modules (capture classification, the pcapng writer) are loaded only
    // when asked for: about a tenth of a second of start-up otherwise.
    const filter = values['mirror-filter']
      ? (await import('../capture/mirror-filter.js')).mirrorFilterPredicate(values['mirror-filter'] as string)
      : undefined;
    if (incident !== null && !isAllTime(incident.window) && values.since === undefined && values.until === undefined && values.around === undefined) {
      io.stderr.write(`mirrorlens analyze: window from the trace id: ${formatWindow(incident.window)}\n`);
    }
    const recorder = await recorderFrom('analyze', values, say);
    const { report, context } = await analyze(inputs, {
      recorder,
      all: Boolean(values.all),
      dissect: values.full === true ? 'all' : 'auto',
      keepKeyLogTexts: Boolean(evidenceDir),
      maxSkewSeconds,
      incident,
      flow: { idleGapThresholdSeconds: idleGap, filter },
      onProgress: showProgress ? (p) => io.stderr.write(`\r  reading captures: ${p.packets.toLocaleString('en-US')} packets`) : undefined,
    });
    if (showProgress) io.stderr.write('\r\x1b[K');
    const color = format === 'text' && out === undefined && Boolean(io.stdout.isTTY) && !values['no-color'] && !io.env.NO_COLOR;
    const text = await render(report, format, color);
    if (out !== undefined) await writeOutputFile(out, text, 'report');
    else if (format === 'text') writeWrapped(io, text);
    else io.stdout.write(text);
    if (evidenceDir !== undefined) {
      const { writeEvidence } = await import('../analyze/evidence.js');
      let written: number;
      try {
        written = await writeEvidence(report, context, inputs, evidenceDir, renderFindingEvidence);
      } catch (e) {
        if (e instanceof MirrorlensError) throw e;
        const { fileProblem } = await import('../capture/inputs.js');
        throw new MirrorlensError(ErrorCode.OutputWrite, `cannot write evidence: ${fileProblem(e)}`, { file: (e as NodeJS.ErrnoException).path ?? evidenceDir });
      }
      io.stderr.write(`evidence: ${written} file(s) in ${evidenceDir}\n`);
    }
    // Records a store refused or lost make the run fail (an output problem), as a report not written would.
    if ((await closeRecorder('analyze', recorder, io)) !== 0) return EXIT.output;
    return failsOn(report, failOn) ? EXIT.found : EXIT.ok;
  },
};

async function analyzeFromStore(
  values: Record<string, unknown>,
  logs: { albLogs: string[]; nlbLogs: string[]; flowLogs: string[] },
  format: string,
  io: CliIO,
  failOn: 'error' | 'warning' | 'info' | 'never',
): Promise<number> {
  const out = values.out as string | undefined;
  if (out !== undefined) await checkOutputFile(out, 'report');
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
    const text = await render(report, format, color);
    if (out !== undefined) await writeOutputFile(out, text, 'report');
    else if (format === 'text') writeWrapped(io, text);
    else io.stdout.write(text);
    return failsOn(report, failOn) ? EXIT.found : EXIT.ok;
  } finally {
    await reader.close();
  }
}
