/**
 * `s3://bucket/prefix/` inputs through the AWS SDK for JavaScript v3.
 *
 * - The bucket's region is asked of S3 (HeadBucket answers with it, `x-amz-bucket-region`), so a
 *   bucket in another region than the configured one works without --region.
 * - Under an `AWSLogs/` folder, the listing follows AWS's log layout (see s3-layout.ts): accounts,
 *   services and regions are listed with a delimiter, then only the day (and hour) folders and the
 *   5-minute files that can hold the window are listed and kept. Without a window, or outside that
 *   layout, everything under the prefix is listed (ListObjectsV2, 1000 keys a page).
 * - Objects are streamed (GetObject body) and gunzipped by the readers as they arrive: no
 *   temporary files.
 */
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, S3Client, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { ErrorCode, MirrorlensError } from '../../wire/errors.js';
import { awsError, baseClientConfig } from './aws-config.js';
import {
  dateFolderMeetsWindow,
  dayFolders,
  fileTimeRange,
  layoutPosition,
  partitionWindow,
  rangeMeetsWindow,
  segmentValue,
  skipKey,
  type LayoutPosition,
  type Level,
  type ListingWindow,
} from './s3-layout.js';
import type { InputSource, ListingReport, ResolveOptions } from './types.js';
import { ALL_TIME, isAllTime } from '../window.js';

export interface S3Url {
  bucket: string;
  /** Key prefix (may be '' for the whole bucket, or an exact key). */
  key: string;
}

/** Parses `s3://bucket[/key]`. Throws a usage error naming the URL. */
export function parseS3Url(url: string): S3Url {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(url);
  if (!m) throw new MirrorlensError(ErrorCode.Usage, 'not an S3 URL (expected s3://bucket/prefix/)', { file: url });
  const bucket = m[1]!;
  // Bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
  // loosened to the legacy names S3 still serves (upper case, '_').
  if (bucket.length < 3 || bucket.length > 255 || !/^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(bucket)) {
    throw new MirrorlensError(ErrorCode.Usage, `'${bucket}' is not a valid bucket name (3-63 characters: letters, digits, '.', '-'; expected s3://bucket/prefix/)`, { file: url });
  }
  return { bucket, key: m[2] ?? '' };
}

export interface S3Access {
  client: S3Client;
  /** Where requests go, for messages: the custom endpoint, or "S3 (REGION)". */
  endpointName: string;
}

const clients = new Map<string, S3Access>();

function makeClient(region: string | undefined, env: NodeJS.ProcessEnv): S3Access {
  const base = baseClientConfig('S3', { region, env });
  const client = new S3Client({
    ...base,
    region: base.region ?? 'us-east-1',
    forcePathStyle: base.endpoint !== undefined,
    followRegionRedirects: true,
  });
  return { client, endpointName: base.endpoint ?? `S3 (${base.region ?? 'us-east-1'})` };
}

/**
 * A client for the bucket, in the bucket's region (asked once per bucket with HeadBucket). Errors
 * (no such bucket, access denied, no credentials, endpoint down) become one line naming the URL.
 */
export async function s3For(bucket: string, url: string, env: NodeJS.ProcessEnv = process.env): Promise<S3Access> {
  const cached = clients.get(bucket);
  if (cached) return cached;
  const first = makeClient(undefined, env);
  let region: string | undefined;
  try {
    const head = await first.client.send(new HeadBucketCommand({ Bucket: bucket }));
    region = head.BucketRegion;
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    const hinted = err.$response?.headers?.['x-amz-bucket-region'];
    if (err.$metadata?.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchBucket') {
      throw new MirrorlensError(ErrorCode.Aws, `no such bucket '${bucket}'`, { file: url }, { cause: e });
    }
    // A 403 on HeadBucket may still name the region; ListObjectsV2 could be allowed where
    // HeadBucket is not (s3:ListBucket covers both, but bucket policies vary): go on and let the
    // listing say what is denied.
    if (err.$metadata?.httpStatusCode !== 403) throw awsError(e, url, 'HeadBucket', first.endpointName);
    region = hinted;
  }
  const configured = await first.client.config.region();
  const access = region && region !== configured && baseClientConfig('S3', { env }).endpoint === undefined ? makeClient(region, env) : first;
  clients.set(bucket, access);
  return access;
}

interface Listed {
  key: string;
  size: number;
}

class Lister {
  requests = 0;
  listed = 0;

  constructor(
    private readonly s3: S3Access,
    private readonly bucket: string,
    private readonly url: string,
  ) {}

  /** One ListObjectsV2 walk (all pages) of `prefix`; with a delimiter, also the sub-folders. */
  async list(prefix: string, delimiter: boolean): Promise<{ objects: Listed[]; folders: string[] }> {
    const objects: Listed[] = [];
    const folders: string[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        this.requests++;
        page = await this.s3.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter ? '/' : undefined, ContinuationToken: token }),
        );
      } catch (e) {
        throw awsError(e, `s3://${this.bucket}/${prefix}`, 'ListObjectsV2 (s3:ListBucket)', this.s3.endpointName);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        this.listed++;
        objects.push({ key: o.Key, size: o.Size ?? 0 });
      }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) folders.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new MirrorlensError(ErrorCode.Aws, 'the listing is truncated but the endpoint gave no continuation token', { file: this.url });
      }
    } while (token !== undefined);
    return { objects, folders };
  }
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/**
 * Walks the AWS log layout from `prefix` (at or below `AWSLogs/`), listing only what can hold the
 * window; returns the objects and the partitions listed.
 */
async function walkLayout(lister: Lister, prefix: string, pos: LayoutPosition, w: ListingWindow, out: Listed[], partitions: string[]): Promise<void> {
  const level: Level = pos.next;
  if (level === 'files' || level === 'hour') {
    // Files (and, for flow logs, hour folders) below a day folder: one delimited listing.
    const { objects, folders } = await lister.list(prefix, true);
    partitions.push(prefix);
    out.push(...objects);
    for (const f of folders) {
      const seg = f.slice(prefix.length, -1);
      if (level === 'hour' && !dateFolderMeetsWindow(pos, 'hour', seg, w)) continue;
      // Below an hour folder (or anything unexpected): list everything.
      const below = await lister.list(f, false);
      partitions.push(f);
      out.push(...below.objects);
    }
    return;
  }
  if (level === 'year' && (pos.service === 'elasticloadbalancing' || pos.service === 'vpcflowlogs')) {
    const days = dayFolders(w, pos.hive);
    if (days !== null) {
      for (const d of days) {
        const p = prefix + d;
        const sub = layoutPosition(p);
        if (sub !== null) await walkLayout(lister, p, sub, w, out, partitions);
      }
      return;
    }
  }
  const { objects, folders } = await lister.list(prefix, true);
  out.push(...objects); // files at an unexpected level: keep them (the window filter still applies)
  for (const f of folders) {
    const seg = f.slice(prefix.length, -1);
    if ((level === 'year' || level === 'month' || level === 'day') && !dateFolderMeetsWindow(pos, level, seg, w)) continue;
    if (level === 'service') {
      const svc = segmentValue(seg);
      if (svc !== 'elasticloadbalancing' && svc !== 'vpcflowlogs') {
        // Another service's logs (CloudTrail, ...): not ours to read.
        continue;
      }
    }
    const sub = layoutPosition(f);
    if (sub === null) {
      const all = await lister.list(f, false);
      out.push(...all.objects);
    } else {
      await walkLayout(lister, f, sub, w, out, partitions);
    }
  }
}

/**
 * Lists `s3://bucket/prefix` into sources. An exact key is one source. With a window and the AWS
 * layout, only the partitions and files that can hold the window are listed and kept.
 */
export async function resolveS3(url: string, opts: ResolveOptions = {}): Promise<InputSource[]> {
  const { bucket, key } = parseS3Url(url);
  const env = opts.env ?? process.env;
  const s3 = await s3For(bucket, url, env);
  const lister = new Lister(s3, bucket, url);
  const w = opts.window;
  const hasWindow = w !== undefined && !isAllTime(w);
  const widened = hasWindow ? partitionWindow(w) : ALL_TIME;
  const partitions: string[] = [];
  let found: Listed[] = [];
  let prefix = key;
  let pruned = false;
  let exactKey = false;

  if (key !== '' && !key.endsWith('/')) {
    // An exact object, or a folder given without its trailing slash.
    const probe = await lister.list(key, true);
    const exact = probe.objects.find((o) => o.key === key);
    if (exact !== undefined) {
      found = [exact];
      exactKey = true;
    } else prefix = key + '/';
  }
  if (found.length === 0) {
    let pos = layoutPosition(prefix);
    if (pos === null && hasWindow) {
      // The layout may start just below the prefix (s3://bucket/prefix/ → prefix/AWSLogs/...).
      const top = await lister.list(prefix, true);
      if (top.folders.includes(prefix + 'AWSLogs/')) {
        pos = layoutPosition(prefix + 'AWSLogs/');
        found.push(...top.objects);
        prefix = prefix + 'AWSLogs/';
        for (const f of top.folders) {
          if (f === prefix) continue;
          const rest = await lister.list(f, false);
          found.push(...rest.objects);
        }
      }
    }
    if (pos !== null && hasWindow) {
      pruned = true;
      await walkLayout(lister, prefix, pos, widened, found, partitions);
    } else if (found.length === 0) {
      found = (await lister.list(prefix, false)).objects;
    }
  }

  const selected: Listed[] = [];
  for (const o of found) {
    if (skipKey(o.key)) continue;
    const base = baseName(o.key);
    if (opts.accept !== undefined && !exactKey && !opts.accept(base)) continue;
    if (hasWindow && !rangeMeetsWindow(fileTimeRange(base), w)) continue;
    selected.push(o);
  }
  selected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const report: ListingReport = {
    input: url,
    requests: lister.requests,
    partitions,
    objectsListed: lister.listed,
    objectsSelected: selected.length,
    bytesSelected: selected.reduce((n, o) => n + o.size, 0),
    pruned,
  };
  opts.onListing?.(report);
  if (lister.listed === 0) {
    throw new MirrorlensError(ErrorCode.Aws, 'no objects under this prefix', { file: url });
  }
  return selected.map((o) => s3Source(s3, bucket, o.key, o.size));
}

/** One S3 object as an InputSource: GetObject when opened, the body streamed. */
export function s3Source(s3: S3Access, bucket: string, key: string, size: number | null): InputSource {
  const name = `s3://${bucket}/${key}`;
  return {
    kind: 's3',
    name,
    size,
    open: async () => {
      try {
        const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (r.Body === undefined) throw new MirrorlensError(ErrorCode.Aws, 'GetObject returned no body', { file: name });
        return r.Body as NodeJS.ReadableStream;
      } catch (e) {
        throw awsError(e, name, 'GetObject (s3:GetObject)', s3.endpointName);
      }
    },
  };
}

/** Opens one object named by its URL (`s3://bucket/key`) as a stream. */
export async function openS3Object(url: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ReadableStream> {
  const { bucket, key } = parseS3Url(url);
  if (key === '' || key.endsWith('/')) throw new MirrorlensError(ErrorCode.Usage, 'names a folder, not an object', { file: url });
  return s3Source(await s3For(bucket, url, env), bucket, key, null).open();
}

/** For tests: forget the per-bucket clients (a test changes the endpoint or credentials). */
export function forgetS3Clients(): void {
  for (const c of clients.values()) c.client.destroy();
  clients.clear();
}

