/**
 * `mirrorlens logs PATH...`: summarise ALB/NLB/CLB access logs, ALB connection logs and VPC flow
 * logs; explain every 5xx in plain words; triage flow logs (routing / security group / network ACL).
 */
import { causeById } from '../logs/causes/index.js';
import type { CliIO, Command } from './command.js';
import { INCIDENT_HELP, INCIDENT_OPTIONS, choiceOption, incidentOption, numberOption, parseCommandArgs } from './command.js';
import { writeWrapped } from './terminal.js';
import { EXIT } from './exit.js';
import type { Incident } from '../capture/incident.js';
import { logRecordSelected } from '../logs/select.js';
import { requireRecords } from '../logs/require.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { readLogs, type LogRecord, type LogsSummary } from '../logs/read.js';
import { LogsSummariser, type ExpectedFlow, type LogsReport } from '../logs/summary.js';
import { LOG_FORMATS, LOG_FORMAT_NAMES, type BadLine, type LogFormat } from '../logs/types.js';
import type { ListingReport } from '../capture/sources/source.js';
import { escapeText, safeJson } from '../report/escape.js';
import { recordLog } from '../store/logs.js';
import type { Recorder } from '../store/recorder.js';
import { closeRecorder, recorderFrom, STORE_OPTIONS, STORE_USAGE } from './store-options.js';

const USAGE = `Usage: mirrorlens logs PATH... [options]

Summarises load-balancer access logs and VPC flow logs: requests and errors by
elb_status_code / target_status_code, by target, by error_reason and desync
classification, per minute; every 5xx with its meaning in plain words; for flow
logs, ACCEPT/REJECT per interface and the triage (absent -> routing; REJECT ->
security group or network ACL; ACCEPT one way + REJECT back -> network ACL).

PATH is a file (plain or .gz), a directory (walked recursively, e.g. the S3 layout
AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/), - for stdin,
s3://bucket/prefix/ (read straight from S3; with a time window only the day
partitions and 5-minute files that can hold it are listed), or cwl://LOG_GROUP
(VPC flow logs in CloudWatch Logs; needs a window). See docs/aws.md.
The format is detected per file from its first lines.

Options:
      --log-format F  the input format, instead of detecting it:
                      ${LOG_FORMATS.join(' | ')}
      --fields LIST   VPC flow-log fields (custom format) for files without a
                      header line, space- or comma-separated, e.g.
                      'version srcaddr dstaddr action'
      --expect A>B[:P]  flow logs: is there traffic from address A to B (port
                      P)? repeatable
      --limit N       error lines to list (default 20; with --json 100): every
                      5xx and the 4xx the load balancer produced itself (460...)
      --bad-lines N   bad lines to print on stderr (default 10; all counted)
      --format F      the output: text (default) or json
  -j, --json          the report as JSON (one object) on stdout
  -h, --help          this help
${STORE_USAGE}

${INCIDENT_HELP}
  (flow-log records are kept when their capture interval overlaps the window;
  --trace-id keeps the ALB lines that carry it)

A file that gives no record (not a log, empty, cut before its first line) is
an error: exit 4; one that cannot be read: exit 3.
`;

interface Options {
  json: boolean;
  incident: Incident | null;
  format?: LogFormat;
  fields?: string[];
  recorder: Recorder | null;
  expect: ExpectedFlow[];
  limit: number;
  badLines: number;
}

function parseExpect(s: string): ExpectedFlow {
  const gt = s.indexOf('>');
  if (gt <= 0 || gt === s.length - 1) throw new MirrorlensError(ErrorCode.Usage, `--expect wants SRC>DST[:PORT], got '${s}'`);
  const src = s.substring(0, gt).trim();
  let dst = s.substring(gt + 1).trim();
  let dstPort: number | undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+(?:\.[^:]+)*)):(\d+)$/.exec(dst);
  if (m) {
    dst = (m[1] ?? m[2])!;
    dstPort = Number(m[3]);
    if (dstPort > 65535) throw new MirrorlensError(ErrorCode.Usage, `--expect port out of range in '${s}'`);
  }
  return dstPort === undefined ? { src, dst } : { src, dst, dstPort };
}

async function parseOptions(argv: string[]): Promise<{ paths: string[]; o: Options }> {
  const { values, positionals } = parseCommandArgs('logs', argv, {
    json: { type: 'boolean' },
    format: { type: 'string' },
    'log-format': { type: 'string' },
    ...INCIDENT_OPTIONS,
    fields: { type: 'string' },
    expect: { type: 'string', multiple: true },
    limit: { type: 'string' },
    'bad-lines': { type: 'string' },
    ...STORE_OPTIONS,
  });
  if (positionals.length === 0) throw new MirrorlensError(ErrorCode.Usage, "give at least one PATH (a file, a directory or - for stdin; see 'mirrorlens logs --help')");
  const out = values.format as string | undefined;
  if (out !== undefined && LOG_FORMATS.includes(out as LogFormat)) {
    throw new MirrorlensError(ErrorCode.Usage, `--format is the output format (text, json); for the input format say --log-format ${out}`);
  }
  const outFormat = choiceOption('logs', 'format', out, ['text', 'json'] as const, 'text');
  const format = values['log-format'] as string | undefined;
  if (format !== undefined && !LOG_FORMATS.includes(format as LogFormat)) {
    throw new MirrorlensError(ErrorCode.Usage, `--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${format}'`);
  }
  const fieldsStr = values.fields as string | undefined;
  const fields = fieldsStr === undefined ? undefined : fieldsStr.split(/[\s,]+/).filter((x) => x.length > 0);
  if (fields !== undefined && fields.length === 0) throw new MirrorlensError(ErrorCode.Usage, '--fields is empty');
  const json = values.json === true || outFormat === 'json';
  const o: Options = {
    json,
    incident: incidentOption('logs', values),
    expect: ((values.expect as string[] | undefined) ?? []).map(parseExpect),
    limit: numberOption('logs', 'limit', values.limit as string | undefined, json ? 100 : 20),
    badLines: numberOption('logs', 'bad-lines', values['bad-lines'] as string | undefined, 10),
    recorder: null,
  };
  if (values.store !== undefined) o.recorder = await recorderFrom('logs', values, () => {});
  if (format !== undefined) o.format = format as LogFormat;
  if (fields !== undefined) o.fields = fields;
  return { paths: positionals, o };
}


const e = escapeText;

function counts(m: Record<string, number>, max = 12): string {
  const entries = Object.entries(m).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, max).map(([k, v]) => `${e(k)} ${v}`);
  if (entries.length > max) shown.push(`(${entries.length - max} more)`);
  return shown.join(' · ');
}

function secs(v: number | null): string {
  return v === null ? '-1' : v.toFixed(3);
}

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** What a remote input listed and read: "s3://b/p/: 6 of 289 objects listed (1 day partition, 7 requests), 4.1 KB". */
export function listingLine(l: ListingReport): string {
  if (l.input.startsWith('cwl://')) {
    return `${e(l.input)}: ${l.objectsSelected} events in ${l.requests} FilterLogEvents request${l.requests === 1 ? '' : 's'}, ${formatBytes(l.bytesSelected)}`;
  }
  const parts = l.pruned ? `${l.partitions.length} partition${l.partitions.length === 1 ? '' : 's'} in the window, ` : '';
  return `${e(l.input)}: read ${l.objectsSelected} of ${l.objectsListed} object${l.objectsListed === 1 ? '' : 's'} listed (${parts}${l.requests} LIST request${l.requests === 1 ? '' : 's'}), ${formatBytes(l.bytesSelected)}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function renderText(summary: LogsSummary, report: LogsReport, limit: number): string {
  const out: string[] = [];
  const fmts = Object.entries(summary.byFormat).map(([k, v]) => `${LOG_FORMAT_NAMES[k as LogFormat]} ${v}`);
  out.push(
    `${summary.files.length} file${summary.files.length === 1 ? '' : 's'}, ${summary.lines} lines, ${summary.records} records${fmts.length ? ` (${fmts.join(', ')})` : ''}, ${summary.badLines} bad line${summary.badLines === 1 ? '' : 's'}`,
  );
  for (const l of summary.listings) out.push(`  ${listingLine(l)}`);
  for (const f of summary.files) if (f.error !== null) out.push(`  ${e(f.file)}: ${e(f.error)}`);
  const h = report.http;
  if (h !== null) {
    out.push('', `Access logs (ALB/CLB): ${h.requests} requests, ${h.errors} with an error status, ${h.fiveXxCount} 5xx`);
    out.push(`  by elb_status_code:    ${counts(h.byElbStatusCode)}`);
    out.push(`  by target_status_code: ${counts(h.byTargetStatusCode)}`);
    if (Object.keys(h.byErrorReason).length) out.push(`  by error_reason:       ${counts(h.byErrorReason)}`);
    if (Object.keys(h.byClassification).length) out.push(`  by classification:    ${counts(h.byClassification)}`);
    const tgt = h.byTarget.slice(0, 10);
    if (tgt.length) {
      out.push('  by target:');
      out.push(...table([['target', 'requests', 'elb 5xx', 'target 5xx'], ...tgt.map((t) => [e(t.target), String(t.requests), String(t.elb5xx), String(t.target5xx)])], '    '));
      if (h.byTarget.length > tgt.length) out.push(`    (${h.byTarget.length - tgt.length} more targets)`);
    }
    const minutes = h.perMinute.length <= 60 ? h.perMinute : h.perMinute.filter((m) => m.elb5xx + m.target5xx > 0);
    if (minutes.length) {
      out.push(`  per minute${h.perMinute.length > 60 ? ` (the ${minutes.length} of ${h.perMinute.length} minutes with a 5xx)` : ''}:`);
      out.push(...table([['minute (UTC)', 'requests', 'elb 4xx', 'elb 5xx', 'target 5xx'], ...minutes.map((m) => [m.minute, String(m.requests), String(m.elb4xx), String(m.elb5xx), String(m.target5xx)])], '    '));
    }
    if (h.errorLines.length) {
      const patterns = new Map<string, { meaning: string; causes: string[]; open: string | null; first: string | null; count: number }>();
      for (const l of h.errorLines) {
        const p = patterns.get(l.pattern);
        if (p) p.count++;
        else patterns.set(l.pattern, { meaning: l.meaning, causes: l.likelyCauses, open: l.open, first: l.causes[0] ?? null, count: 1 });
      }
      out.push('', 'What the errors mean:');
      for (const [name, p] of patterns) {
        out.push(`  ${name} (${h.byPattern[name] ?? p.count}): ${p.meaning}`);
        p.causes.forEach((c, i) => out.push(`    ${i + 1}. ${e(c)}`));
        if (p.open !== null) out.push(`    the log cannot tell apart: ${p.open} (mirrorlens analyze without captures says what to capture)`);
        const cause = p.first !== null ? causeById(p.first) : undefined;
        if (cause) out.push(`    AWS: ${cause.aws.source}`);
      }
      const shown = h.errorLines.slice(0, limit);
      out.push('', `Error lines: 5xx and the load balancer's own 4xx (${shown.length} of ${h.errorLineCount}):`);
      for (const l of shown) {
        out.push(
          `  ${e(l.file)}:${l.line} ${e(l.time)} elb ${l.elbStatusCode ?? '-'} target ${l.targetStatusCode ?? '-'} ${e(l.client)} -> ${e(l.target ?? '-')} times ${secs(l.requestProcessingSeconds)}/${secs(l.targetProcessingSeconds)}/${secs(l.responseProcessingSeconds)} "${e(l.request)}"`,
        );
        out.push(`    ${l.pattern}: ${l.meaning}${l.errorReason !== null ? ` [error_reason ${e(l.errorReason)}${l.errorReasonMeaning ? `: ${l.errorReasonMeaning}` : ''}]` : ''}${l.traceId !== null ? ` trace ${e(l.traceId)}` : ''}`);
      }
    }
  }
  const t = report.tls;
  if (t !== null) {
    out.push('', `TLS connections (ALB connection logs / NLB access logs): ${t.connections}, ${t.handshakeFailures} without a completed handshake`);
    out.push(`  by TLS protocol: ${counts(t.byTlsProtocol)}`);
    if (Object.keys(t.byIncomingAlert).length) out.push(`  TLS alerts from clients: ${counts(t.byIncomingAlert)}`);
    for (const v of t.verifyFailures) out.push(`  client certificate check failed ${v.count}x: ${e(v.code)}: ${v.meaning}`);
    if (t.failureLines.length) {
      out.push('', 'What the failed handshakes mean (NLB):');
      const seen = new Set<string>();
      for (const l of t.failureLines) {
        if (seen.has(l.pattern)) continue;
        seen.add(l.pattern);
        out.push(`  ${l.pattern} (${t.byPattern[l.pattern] ?? 1}): ${l.meaning}`);
        l.likelyCauses.forEach((c, i) => out.push(`    ${i + 1}. ${e(c)}`));
        if (l.open !== null) out.push(`    the log cannot tell apart: ${l.open}`);
        const cause = l.causes[0] !== undefined ? causeById(l.causes[0]) : undefined;
        if (cause) out.push(`    AWS: ${cause.aws.source}`);
      }
      const shown = t.failureLines.slice(0, limit);
      out.push('', `Failed handshakes (${shown.length} of ${t.failureLineCount}):`);
      for (const l of shown) {
        out.push(`  ${e(l.file)}:${l.line} ${e(l.time)} ${e(l.client)} -> ${e(l.listener)}${l.sni !== null ? ` sni ${e(l.sni)}` : ''}`);
        out.push(`    ${l.pattern}: ${e(l.detail)}`);
      }
    }
  }
  const f = report.flow;
  if (f !== null) {
    out.push('', `VPC flow logs: ${f.records} records: ${f.accepted} ACCEPT, ${f.rejected} REJECT, ${f.noData} NODATA, ${f.skipData} SKIPDATA`);
    const ifs = f.byInterface.slice(0, 15);
    out.push(...table([['interface', 'accept', 'reject', 'nodata', 'skipdata', 'packets', 'bytes'], ...ifs.map((i) => [e(i.interfaceId), String(i.accepted), String(i.rejected), String(i.noData), String(i.skipData), String(i.packets), String(i.bytes)])]));
    if (f.byInterface.length > ifs.length) out.push(`  (${f.byInterface.length - ifs.length} more interfaces)`);
    if (f.skipData > 0) out.push('  SKIPDATA: AWS skipped records in some intervals (capacity or error); absence of a record there proves nothing');
    if (f.expectations.length) {
      out.push('', 'Expected traffic:');
      for (const x of f.expectations) out.push(`  ${e(x.expect)}: ${x.verdict.toUpperCase()} (${x.records} records): ${x.detail}`);
    }
    out.push('', `Triage (${Object.entries(f.findingCounts).map(([k, v]) => `${k} ${v}`).join(', ') || 'no conversations'}):`);
    if (f.findings.length === 0) out.push('  every conversation with ACCEPT/REJECT records was accepted both ways');
    for (const x of f.findings) out.push(`  ${x.verdict}: ${e(x.interfaceId)} ${x.protocol} ${e(x.client)} <-> ${e(x.server)}: ${e(x.detail)}`);
    if (f.flowTableFull) out.push('  (more conversations than tracked; the triage covers the first ones)');
  }
  return out.join('\n') + '\n';
}

export async function runLogs(argv: string[], io: CliIO): Promise<number> {
  const { paths, o } = await parseOptions(argv);
  const summariser = new LogsSummariser({ maxErrorLines: Math.max(o.limit, 100), expect: o.expect });
  let printed = 0;
  const show = (b: BadLine): void => {
    if (printed < o.badLines) {
      io.stderr.write(`mirrorlens logs: ${e(b.file)}${b.line > 0 ? `:${b.line}` : ''}: ${e(b.reason)}\n`);
    }
    printed++;
  };
  // A file's bad lines wait until it has given a record: a file that gives none is one error
  // (requireRecords), not a screen of "format not recognised".
  let held: BadLine[] = [];
  let heldFile = '';
  let fileHasRecord = false;
  const onBadLine = (b: BadLine): void => {
    if (b.file !== heldFile) {
      held = [];
      heldFile = b.file;
      fileHasRecord = false;
    }
    if (fileHasRecord) show(b);
    else if (held.length < o.badLines + 1) held.push(b);
    else printed++;
  };
  const onRecord = (r: LogRecord): void => {
    if (r.file !== heldFile) {
      held = [];
      heldFile = r.file;
      fileHasRecord = false;
    }
    if (!fileHasRecord) {
      fileHasRecord = true;
      for (const b of held) show(b);
      held = [];
    }
    if (o.incident !== null && !logRecordSelected(o.incident, r)) return;
    summariser.add(r);
    if (rec) recordLog(rec, r);
  };
  const opts: Parameters<typeof readLogs>[2] = { onBadLine, env: io.env };
  if (o.format !== undefined) opts.format = o.format;
  if (o.fields !== undefined) opts.fields = o.fields;
  if (o.incident !== null) opts.window = o.incident.window;
  const rec = o.recorder;
  const summary = await readLogs(paths, onRecord, opts);
  requireRecords(summary, 'an ALB, NLB or Classic LB access log or a VPC flow log');
  if (printed > o.badLines) io.stderr.write(`mirrorlens logs: ... and ${printed - o.badLines} more bad lines\n`);
  const report = summariser.report();
  if (o.json) {
    if (report.http !== null) report.http.errorLines = report.http.errorLines.slice(0, o.limit);
    if (report.tls !== null) report.tls.failureLines = report.tls.failureLines.slice(0, o.limit);
    io.stdout.write(safeJson({ summary, ...report }, 2) + '\n');
  } else {
    writeWrapped(io, renderText(summary, report, o.limit));
  }
  // Records a store refused or lost fail the run as an output problem.
  return (await closeRecorder('logs', rec, io)) !== 0 ? EXIT.output : EXIT.ok;
}

export const command: Command = {
  summary: 'summarise ALB/NLB/CLB access logs and VPC flow logs; explain each 5xx',
  usage: USAGE,
  run: runLogs,
};
