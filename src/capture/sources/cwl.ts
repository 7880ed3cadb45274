/**
 * `cwl://LOG_GROUP` inputs: VPC flow logs delivered to CloudWatch Logs, read with FilterLogEvents
 * over the incident window.
 *
 * "When publishing to CloudWatch Logs, flow log records are published to a log group, and each
 * network interface has a unique log stream in the log group" (EC2 API CreateFlowLogs); each log
 * event's message is one flow-log record, fields separated by spaces, in the flow log's format,
 * with no header line (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html).
 * The format is asked of EC2 (DescribeFlowLogs for the group → LogFormat) and written as a header
 * line before the records, as in the files delivered to S3; without ec2:DescribeFlowLogs the
 * default format is assumed (or give --fields).
 *
 * Form: `cwl://GROUP` or `cwl://GROUP?stream=PREFIX` (log streams whose name starts with PREFIX,
 * e.g. one interface: `?stream=eni-0123456789abcdef0`). Group names may contain '/'.
 */
import { Readable } from 'node:stream';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ErrorCode, MirrorlensError } from '../../wire/errors.js';
import { awsError, baseClientConfig } from './aws-config.js';
import type { InputSource, ListingReport, ResolveOptions } from './types.js';

export interface CwlUrl {
  group: string;
  streamPrefix: string | undefined;
}

export function parseCwlUrl(url: string): CwlUrl {
  const m = /^cwl:\/\/([^?]+)(?:\?(.*))?$/.exec(url);
  if (!m) throw new MirrorlensError(ErrorCode.Usage, 'not a CloudWatch Logs URL (expected cwl://LOG_GROUP)', { file: url });
  const group = m[1]!;
  // Log group names: 1-512 characters of a-z A-Z 0-9 _ - / . # (CreateLogGroup).
  if (group.length > 512 || !/^[\w\-/.#]+$/.test(group)) {
    throw new MirrorlensError(ErrorCode.Usage, `'${group}' is not a valid log group name (letters, digits, '_', '-', '/', '.', '#')`, { file: url });
  }
  let streamPrefix: string | undefined;
  if (m[2] !== undefined) {
    const q = new URLSearchParams(m[2]);
    for (const k of q.keys()) if (k !== 'stream') throw new MirrorlensError(ErrorCode.Usage, `unknown parameter '${k}' (only ?stream=PREFIX)`, { file: url });
    streamPrefix = q.get('stream') ?? undefined;
  }
  return { group, streamPrefix };
}

/** The flow log's record format for a log group, as a header line of field names; null if unknown. */
async function flowLogFormat(group: string, region: string | undefined, env: NodeJS.ProcessEnv): Promise<string | null> {
  try {
    const { EC2Client, DescribeFlowLogsCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client(baseClientConfig('EC2', { region, env }));
    try {
      const r = await ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: 'log-group-name', Values: [group] }] }));
      const fmt = r.FlowLogs?.find((f) => f.LogFormat)?.LogFormat;
      if (!fmt) return null;
      // "${version} ${account-id} ..." → "version account-id ..."
      const names = fmt.match(/\$\{([a-z0-9-]+)\}/g)?.map((x) => x.slice(2, -1));
      return names && names.length > 0 ? names.join(' ') : null;
    } finally {
      ec2.destroy();
    }
  } catch {
    return null;
  }
}

export interface CwlReadOptions {
  since: number;
  until: number;
  region?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Header line to write first (field names); looked up with DescribeFlowLogs when undefined. */
  header?: string | null;
  onReport?: (r: ListingReport) => void;
}

/** The events of a group in [since, until] as text lines (a header line first when the format is known). */
export function cwlEventStream(url: string, client: CloudWatchLogsClient, endpointName: string, o: CwlReadOptions & { header: string | null }): Readable {
  const { group, streamPrefix } = parseCwlUrl(url);
  const report: ListingReport = { input: url, requests: 0, partitions: [], objectsListed: 0, objectsSelected: 0, bytesSelected: 0, pruned: true };
  async function* lines(): AsyncGenerator<Buffer> {
    if (o.header !== null) yield Buffer.from(o.header + '\n');
    let token: string | undefined;
    try {
      do {
        report.requests++;
        let page;
        try {
          page = await client.send(
            new FilterLogEventsCommand({
              logGroupName: group,
              logStreamNamePrefix: streamPrefix,
              startTime: Math.floor(o.since * 1000),
              endTime: Math.ceil(o.until * 1000),
              nextToken: token,
            }),
          );
        } catch (e) {
          throw awsError(e, url, 'FilterLogEvents (logs:FilterLogEvents)', endpointName);
        }
        const parts: string[] = [];
        for (const ev of page.events ?? []) {
          if (ev.message === undefined) continue;
          report.objectsSelected++;
          parts.push(ev.message.endsWith('\n') ? ev.message : ev.message + '\n');
        }
        if (parts.length > 0) {
          const b = Buffer.from(parts.join(''));
          report.bytesSelected += b.length;
          yield b;
        }
        token = page.nextToken;
      } while (token !== undefined);
    } finally {
      report.objectsListed = report.objectsSelected;
      o.onReport?.(report);
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** A CloudWatch Logs group as one InputSource (events fetched page by page as it is read). */
export async function resolveCloudWatchLogs(url: string, opts: ResolveOptions = {}): Promise<InputSource[]> {
  const { group } = parseCwlUrl(url);
  const w = opts.window;
  if (w === undefined || !Number.isFinite(w.since) || !Number.isFinite(w.until)) {
    throw new MirrorlensError(ErrorCode.Usage, 'a CloudWatch Logs input needs a time window (--since and --until, or --around)', { file: url });
  }
  const env = opts.env ?? process.env;
  const base = baseClientConfig('CLOUDWATCH_LOGS', { env });
  const client = new CloudWatchLogsClient(base);
  const endpointName = base.endpoint ?? `CloudWatch Logs (${base.region ?? 'default region'})`;
  const since = w.since;
  const until = w.until;
  return [
    {
      kind: 'cwl',
      name: url,
      size: null,
      open: async () => {
        const header = await flowLogFormat(group, base.region, env);
        return cwlEventStream(url, client, endpointName, { since, until, env, header, onReport: opts.onListing });
      },
    },
  ];
}
