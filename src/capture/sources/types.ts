/**
 * The shapes shared by the input resolvers (source.ts for local paths, s3.ts, cwl.ts).
 */
import type { ListingWindow } from './s3-layout.js';

export type SourceKind = 'file' | 'stdin' | 's3' | 'cwl';

export interface InputSource {
  kind: SourceKind;
  /** As shown to the user: the path, `-`, `s3://bucket/key`, `cwl://group`. */
  name: string;
  /** The local path, for kind 'file' (readers may open it themselves). */
  path?: string;
  /** Size in bytes when known before reading (files, S3 objects). */
  size: number | null;
  /** Opens the bytes (compressed as stored; readers detect gzip). */
  open(): Promise<NodeJS.ReadableStream>;
}

/** What a remote input listed (S3 prefix, CloudWatch Logs group), for the "objects and bytes read" report. */
export interface ListingReport {
  input: string;
  /** LIST (or FilterLogEvents) requests made. */
  requests: number;
  /** Partitions (folders) listed; empty when the layout was not recognised or no window was given. */
  partitions: string[];
  /** Objects seen in the listed partitions. */
  objectsListed: number;
  /** Objects kept (in the window, not skipped). */
  objectsSelected: number;
  /** Their stored size in bytes (before gunzip). */
  bytesSelected: number;
  /** True when the key layout (AWSLogs/...) was recognised and the window pruned the listing. */
  pruned: boolean;
}

export interface ResolveOptions {
  /** Incident window: remote listings skip what cannot hold it. Local files are always read. */
  window?: ListingWindow | undefined;
  /** Which file names to keep when walking a directory or an S3 prefix (default: all). */
  accept?: ((name: string) => boolean) | undefined;
  /** Stream for `-` (default process.stdin). */
  stdin?: NodeJS.ReadableStream | undefined;
  /** Called once per remote input after it was listed. */
  onListing?: ((r: ListingReport) => void) | undefined;
  /** Environment for AWS settings (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
}

