/**
 * readLogs: streams log files (plain or gzip, detected by magic bytes), directories (walked
 * recursively, e.g. the S3 layout `AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/`
 * or `AWSLogs/<account>/vpcflowlogs/<region>/yyyy/mm/dd/`), stdin (`-`), S3 objects
 * (`s3://bucket/prefix/`, listed only as far as the time window needs) and CloudWatch Logs groups
 * (`cwl://GROUP`, flow logs), detects the format of each file from its first lines (or takes
 * `format`), and calls back once per record. Memory is bounded by the longest line, never by the
 * file size. A line that does not parse is reported to `onBadLine` with file, line number and
 * reason, counted, and skipped; the run goes on. A file that ends early (truncated .gz) is
 * reported the same way, with the records before the damage kept.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { fileProblem } from '../capture/inputs.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';
import { resolveInputs, type InputSource, type ListingReport } from '../capture/sources/source.js';
import type { ListingWindow } from '../capture/sources/s3-layout.js';
import { tokenize, type TokenizeResult } from './tokenize.js';
import { detectFormat } from './detect.js';
import { LineSplitter, Utf8LineFeeder } from './lines.js';
import { FileChunks, isRegularFile } from '../capture/file-chunks.js';
import { parseAlbLine, type AlbLogRecord } from './alb.js';
import { AlbLineFacts, AlbLineScanner } from './alb-scan.js';
import { INTS, NUMS, ST_NON_ASCII, ST_QUICK, ST_TARGET_NEW, nativeAlbScan } from './alb-scan-native.js';
import { parseAlbConnectionLine, type AlbConnectionLogRecord } from './alb-conn.js';
import { parseNlbLine, type NlbLogRecord } from './nlb.js';
import { parseClbLine, type ClbLogRecord } from './clb.js';
import { compileFlowFormat, DEFAULT_FLOW_FORMAT, isFlowHeader, parseFlowLine, type FlowFormat, type FlowLogRecord } from './flow.js';
import { LOG_FORMATS, type BadLine, type LineError, type LogFormat } from './types.js';

export type LogRecord = AlbLogRecord | AlbConnectionLogRecord | NlbLogRecord | ClbLogRecord | FlowLogRecord;

export interface ReadLogsOptions {
  /** Skip detection: every file is in this format. */
  format?: LogFormat;
  /**
   * Flow-log field list (custom format) for files without a header line; implies format 'flow'.
   * A header line in a file always describes the records after it.
   */
  fields?: string[];
  /** Called for every line that is skipped, and for files that cannot be read to the end. */
  onBadLine?(b: BadLine): void;
  /** Lines longer than this (characters) are reported and skipped. Default 1 Mi. */
  maxLineChars?: number;
  /** Stream to read for the path `-` (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Incident window: S3 and CloudWatch Logs inputs are listed/fetched only as far as it needs. */
  window?: ListingWindow;
  /** Environment for AWS settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * ALB access logs: each line is first scanned quickly (alb-scan.ts) and, when valid, its facts
   * (time, client, target, elb_status_code) handed here. Return true when they are all the caller
   * needs of the line (it counts as a record; no record is built nor passed to onRecord), false
   * for the record as usual. Lines the quick scan is unsure of always get the full parse.
   */
  onAlbFacts?(f: AlbLineFacts): boolean;
  /**
   * With onAlbFacts: scan ALB lines as bytes in C (alb-scan-native.ts) when the native addon is
   * there (default true); false: the JavaScript scan alone (differential tests). Same results.
   */
  nativeScan?: boolean;
}

export interface LogFileSummary {
  file: string;
  /** null when no line of the file was recognised. */
  format: LogFormat | null;
  gzip: boolean;
  /** Bytes read from the file (compressed size for .gz). */
  bytes: number;
  lines: number;
  records: number;
  badLines: number;
  /** Set when the file could not be read to its end (the records before are kept). */
  error: string | null;
  /** Set when not one byte of the file could be read (cannot open: a socket, permissions, ...). */
  unreadable?: boolean;
}

export interface LogsSummary {
  files: LogFileSummary[];
  lines: number;
  records: number;
  badLines: number;
  bytes: number;
  byFormat: Partial<Record<LogFormat, number>>;
  /** What each remote input (s3://, cwl://) listed and selected. */
  listings: ListingReport[];
}

const HAS_DIGIT = /[0-9]/;

const PARSERS: Record<Exclude<LogFormat, 'flow'>, (line: string) => LogRecord | LineError> = {
  alb: parseAlbLine,
  'alb-conn': parseAlbConnectionLine,
  nlb: parseNlbLine,
  clb: parseClbLine,
};

/** Expands the inputs to the names that will be read: `-`, files, directories (recursively, sorted; dot-files and ELBAccessLogTestFile skipped), s3:// prefixes. */
export async function expandLogPaths(paths: string[], opts: Pick<ReadLogsOptions, 'window' | 'env'> = {}): Promise<string[]> {
  return (await resolveInputs(paths, { window: opts.window, env: opts.env })).map((s) => s.name);
}

/** Remote objects opened ahead of the one being read, so that request latency overlaps parsing. */
const PREFETCH = 4;

export async function readLogs(paths: string[], onRecord: (r: LogRecord) => void, opts: ReadLogsOptions = {}): Promise<LogsSummary> {
  if (opts.format !== undefined && !LOG_FORMATS.includes(opts.format)) {
    throw new MirrorlensError(ErrorCode.Usage, `unknown log format '${String(opts.format)}' (one of ${LOG_FORMATS.join(', ')})`);
  }
  const listings: ListingReport[] = [];
  const sources = await resolveInputs(paths, { window: opts.window, env: opts.env, stdin: opts.stdin, onListing: (r) => listings.push(r) });
  const summary: LogsSummary = { files: [], lines: 0, records: 0, badLines: 0, bytes: 0, byFormat: {}, listings };
  const fieldsFormat = opts.fields && opts.fields.length > 0 ? compileFlowFormat(opts.fields) : null;
  const opened: (Promise<NodeJS.ReadableStream> | undefined)[] = [];
  const openAhead = (i: number): void => {
    for (let j = i; j < Math.min(sources.length, i + PREFETCH); j++) {
      if (opened[j] === undefined && sources[j]!.kind === 's3') {
        const p = sources[j]!.open();
        p.catch(() => undefined); // surfaces when its turn comes
        opened[j] = p;
      }
    }
  };
  for (let i = 0; i < sources.length; i++) {
    openAhead(i + 1);
    const src = sources[i]!;
    // A local regular file is read here (capture/file-chunks.ts); anything else as a stream.
    const opening = src.kind === 'file' && src.path !== undefined && isRegularFile(src.path) ? new FileChunks(src.path) : (opened[i] ?? src.open());
    const fs = await readOneFile(src, opening, onRecord, opts, fieldsFormat);
    opened[i] = undefined;
    summary.files.push(fs);
    summary.lines += fs.lines;
    summary.records += fs.records;
    summary.badLines += fs.badLines;
    summary.bytes += fs.bytes;
    if (fs.format !== null) summary.byFormat[fs.format] = (summary.byFormat[fs.format] ?? 0) + fs.records;
  }
  return summary;
}

async function* prepend(head: Buffer, it: AsyncIterator<Buffer>, counter: { bytes: number }): AsyncGenerator<Buffer> {
  yield head;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    counter.bytes += r.value.length;
    yield r.value;
  }
}

async function readOneFile(
  source: InputSource,
  opening: Promise<NodeJS.ReadableStream> | FileChunks,
  onRecord: (r: LogRecord) => void,
  opts: ReadLogsOptions,
  fieldsFormat: FlowFormat | null,
): Promise<LogFileSummary> {
  const file = source.name;
  const fs: LogFileSummary = { file, format: opts.format ?? (fieldsFormat !== null ? 'flow' : null), gzip: false, bytes: 0, lines: 0, records: 0, badLines: 0, error: null };
  const bad = (line: number, reason: string): void => {
    fs.badLines++;
    opts.onBadLine?.({ file, line, reason });
  };
  const tokens: string[] = [];
  const tres: TokenizeResult = { count: 0, error: '', column: 0 };
  // --fields describes flow logs, so it implies the flow format.
  let format: LogFormat | null = opts.format ?? (fieldsFormat !== null ? 'flow' : null);
  let flowFormat: FlowFormat = fieldsFormat ?? DEFAULT_FLOW_FORMAT;
  let parser: ((line: string) => LogRecord | LineError) | null = format === null ? null : format === 'flow' ? (l) => parseFlowLine(l, flowFormat) : PARSERS[format];
  let lineNo = 0;
  const onAlbFacts = opts.onAlbFacts;
  const scanner = onAlbFacts !== undefined ? new AlbLineScanner() : null;
  const facts = new AlbLineFacts();
  facts.file = file;

  const setFormat = (f: LogFormat): void => {
    format = f;
    fs.format = f;
    parser = f === 'flow' ? (l) => parseFlowLine(l, flowFormat) : PARSERS[f];
  };

  const onLine = (line: string, tooLong: boolean): void => {
    lineNo++;
    if (tooLong) {
      bad(lineNo, `line longer than ${opts.maxLineChars ?? 1 << 20} characters`);
      return;
    }
    if (line.length === 0) return;
    // Detection, and flow-log header lines (which recur when files were concatenated). Field
    // names have no digits and records nearly always do, so most flow records skip the check.
    if (parser === null || (format === 'flow' && !HAS_DIGIT.test(line))) {
      tokenize(line, tokens, null, tres);
      if (format === 'flow') {
        if (tres.count > 0 && isFlowHeader(tokens, tres.count)) {
          flowFormat = compileFlowFormat(tokens.slice(0, tres.count));
          return;
        }
      } else {
        if (tres.count === 0) return; // blank (spaces only)
        if (line.startsWith('Enable AccessLog for ELB:')) return; // ELBAccessLogTestFile, named explicitly
        const d = tres.count < 0 ? null : detectFormat(tokens, tres.count);
        if (d === null) {
          bad(lineNo, `format not recognised (not an ALB, ALB connection, NLB, Classic LB or VPC flow log line${tres.count < 0 ? `: ${tres.error}` : ''}); use --format to force one`);
          return;
        }
        if (d === 'flow-timestamped') {
          // CloudWatch Logs export: drop the event timestamp in front of each record.
          setFormat('flow');
          const base = parser!;
          parser = (l) => base(l.substring(l.indexOf(' ') + 1));
        } else if (d === 'flow-header') {
          setFormat('flow');
          flowFormat = compileFlowFormat(tokens.slice(0, tres.count));
          return;
        } else {
          setFormat(d);
        }
      }
    }
    if (format === 'alb' && scanner !== null && scanner.scan(line, facts)) {
      facts.lineNo = lineNo;
      if (onAlbFacts!(facts)) {
        fs.records++;
        return;
      }
    }
    parseLine(line);
  };

  /** The full parse of a line (lineNo already counted). */
  const parseLine = (line: string): void => {
    const r = parser!(line);
    if (r.kind === 'error') {
      const e = r as LineError;
      bad(lineNo, e.column !== undefined ? `column ${e.column}: ${e.reason}` : e.reason);
      return;
    }
    const rec = r as LogRecord;
    rec.file = file;
    rec.line = lineNo;
    fs.records++;
    onRecord(rec);
  };

  const splitter = new LineSplitter(onLine, opts.maxLineChars ?? 1 << 20);
  const feeder = new Utf8LineFeeder(splitter);
  const native = scanner !== null && opts.nativeScan !== false ? nativeAlbScan() : null;
  if (native !== null) {
    // Blocks of whole lines scanned as bytes (alb-scan-native.ts): the lines nothing keeps are
    // counted from their facts without being decoded; every other line is decoded on its own and
    // goes through onLine as the splitter would have passed it (same text: a UTF-8 sequence never
    // spans a '\n'; same too-long rule). NLB, CLB and flow logs are decoded as blocks.
    const maxChars = splitter.maxChars;
    const ints = native.ints;
    const nums = native.nums;
    feeder.onBlock = (buf: Buffer, from: number, to: number): boolean => {
      if (format !== null && format !== 'alb') return false;
      let start = from;
      while (start < to) {
        const k = native.scan(buf, start, to);
        if (k === 0) break; // (no '\n' left: a block ends with one)
        // Whether facts.target* hold the previous quick line's target (the scan says when it changes).
        let haveTarget = false;
        for (let i = 0; i < k; i++) {
          const o = i * INTS;
          const end = ints[o + 1]!;
          const st = ints[o + 2]!;
          if ((st & ST_QUICK) !== 0 && format === 'alb' && end - start <= maxChars) {
            lineNo++;
            facts.lineNo = lineNo;
            facts.line = '';
            facts.time = nums[i * NUMS]!;
            facts.clientV4 = nums[i * NUMS + 1]!;
            facts.clientFrom = facts.clientTo = 0;
            facts.clientPort = ints[o + 3]!;
            if (!haveTarget || (st & ST_TARGET_NEW) !== 0) {
              const port = ints[o + 6]!;
              facts.targetAddr = port < 0 ? null : buf.toString('latin1', ints[o + 4]!, ints[o + 5]!);
              facts.targetPort = port < 0 ? null : port;
              haveTarget = true;
            }
            const elb = ints[o + 7]!;
            facts.elbStatusCode = elb < 0 ? null : elb;
            if (onAlbFacts!(facts)) fs.records++;
            else parseLine(buf.toString('latin1', start, end));
          } else {
            haveTarget = false; // (onLine's own scan may fill facts)
            const line = buf.toString((st & ST_NON_ASCII) !== 0 ? 'utf8' : 'latin1', start, end);
            if (line.length > maxChars) onLine('', true);
            else onLine(line, false);
          }
          start = ints[o]! + 1;
        }
      }
      return true;
    };
  }
  let raw: NodeJS.ReadableStream | null = null;
  const local = opening instanceof FileChunks ? opening : null;
  try {
    // Streams come in 64 KiB chunks (source.ts): chunks are freed only when V8 next collects, so
    // 1 MiB chunks let a whole 12 MB log sit in memory at once (measured: 18 MiB of external memory
    // against 4 MiB). Local files: FileChunks, one reused buffer.
    if (local === null) raw = await (opening as Promise<NodeJS.ReadableStream>);
  } catch (e) {
    // A remote object that cannot be fetched (access denied, endpoint down) ends the run with
    // one line; the same error would repeat for every other object.
    if (e instanceof MirrorlensError) throw e;
    fs.error = (e as Error).message;
    bad(0, `cannot open: ${fs.error}`);
    return fs;
  }
  const counter = { bytes: 0 };
  try {
    const it = local ?? ((raw as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
    // Peek at the first bytes for the gzip magic (1f 8b) or Parquet ('PAR1').
    let head: Buffer = Buffer.alloc(0);
    let ended = false;
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    }
    counter.bytes = head.length;
    if (head.length >= 4 && head.toString('latin1', 0, 4) === 'PAR1') {
      fs.error = 'Parquet file: mirrorlens reads flow logs delivered as plain text (optionally gzip), not Parquet';
      bad(0, fs.error);
      (raw as Readable | null)?.destroy?.();
      return fs;
    }
    fs.gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (!fs.gzip && head.subarray(0, 4096).includes(0)) {
      // Logs are text: a NUL byte means a capture (or other binary file) given as a log.
      const u32 = head.length >= 4 ? head.readUInt32LE(0) : 0;
      const what = u32 === 0x0a0d0d0a ? 'a pcapng capture' : [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(u32) ? 'a pcap capture' : 'binary data';
      fs.error = `this is ${what}, not a text log`;
      bad(0, fs.error);
      (raw as Readable | null)?.destroy?.();
      return fs;
    }
    // A local file's later chunks may share one buffer (the line feeder copies what it keeps);
    // not when gzip: the inflater holds on to chunks.
    if (local !== null && !fs.gzip) local.reuse = true;
    const source: AsyncIterable<Buffer> | Iterable<Buffer> = ended ? [head] : prepend(head, it, counter);
    const body: AsyncIterable<Buffer> | Iterable<Buffer> = fs.gzip
      ? pipeline(Readable.from(source, { objectMode: false }), createGunzip({ chunkSize: 1 << 18 }), () => {
          // errors surface through the iteration below
        })
      : source;
    for await (const chunk of body) {
      feeder.push(chunk);
    }
    feeder.end();
  } catch (e) {
    if (e instanceof MirrorlensError && e.code === ErrorCode.Aws) throw e;
    const err = e as NodeJS.ErrnoException;
    const partial = feeder.discard();
    if (counter.bytes === 0 && typeof err.code === 'string' && err.syscall !== undefined) {
      fs.error = `cannot read: ${fileProblem(err)}`;
      fs.unreadable = true;
      bad(0, fs.error);
      return fs;
    }
    const what = fs.gzip
      ? `gzip stream ends early or is corrupt (${err.code === 'Z_BUF_ERROR' ? 'unexpected end of file' : err.message})`
      : `read error: ${err.message}`;
    fs.error = `${what}; stopped after line ${lineNo}${partial > 0 ? ' (a partial line after it was dropped)' : ''}`;
    bad(lineNo + 1, fs.error);
  } finally {
    fs.bytes = counter.bytes;
    fs.lines = lineNo;
    local?.close();
    if (source.kind !== 'stdin') (raw as Readable | null)?.destroy?.();
  }
  return fs;
}
