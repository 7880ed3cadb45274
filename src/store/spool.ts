/**
 * The disk spool of a server store: batches the server has not confirmed, one file each, so that
 * nothing is lost while the server is away (or the process is stopped) and everything is sent
 * when it is back, oldest first. A file is written to a temporary name, synced and renamed, so a
 * crash leaves either a whole batch or none. A batch keeps its id for life: the sender asks the
 * server whether that id is already there before sending it again (no duplicates from retries).
 *
 * File: `<table>.<batch id>.ndjson`; first line a header
 * `{"spool":1,"table":..,"id":..,"rows":n,"minTs":..,"maxTs":..}`, then one JSON row a line.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Row, TableName } from './schema.js';
import { TABLE_NAMES } from './schema.js';

export interface Batch {
  table: TableName;
  /** Unique across nodes and runs: node, process start, sequence. */
  id: string;
  rows: Row[] | null;
  count: number;
  minTs: number;
  maxTs: number;
  /** Sent at least once without a confirmed answer: ask the server before sending again. */
  maybeSent: boolean;
  /** The spool file holding it, once spooled. */
  file: string | null;
  /** Where the rows start in that file (after the header line). */
  bodyOffset?: number;
}

export class Spool {
  private ready: Promise<void> | null = null;
  private seq = 0;

  constructor(readonly dir: string) {}

  private init(): Promise<void> {
    this.ready ??= mkdir(join(this.dir, 'rejected'), { recursive: true }).then(() => undefined);
    return this.ready;
  }

  /** Writes a batch durably (tmp, fsync, rename). */
  async put(b: Batch): Promise<void> {
    if (b.file !== null || b.rows === null) return;
    await this.init();
    const name = `${b.table}.${b.id}.ndjson`;
    const tmp = join(this.dir, `.${name}.${process.pid}.${++this.seq}.tmp`);
    const header = JSON.stringify({ spool: 1, table: b.table, id: b.id, rows: b.count, minTs: b.minTs, maxTs: b.maxTs, maybeSent: b.maybeSent });
    const lines = [header];
    for (const r of b.rows) lines.push(JSON.stringify(r));
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${lines.join('\n')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    b.file = join(this.dir, name);
    b.bodyOffset = Buffer.byteLength(header) + 1;
  }

  /** The spooled batches (rows not loaded), oldest id first. A spooled batch may have been sent already. */
  async list(): Promise<Batch[]> {
    await this.init();
    const out: Batch[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      if (!f.endsWith('.ndjson') || f.startsWith('.')) continue;
      const file = join(this.dir, f);
      const head = await readHeader(file);
      if (!head || !TABLE_NAMES.includes(head.table as TableName)) continue;
      out.push({ table: head.table as TableName, id: head.id, rows: null, count: head.rows, minTs: head.minTs, maxTs: head.maxTs, maybeSent: true, file, bodyOffset: head.bodyOffset });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The batch's rows as JSON lines, straight from its file (sent as they are: no parse, no re-serialisation). */
  body(b: Batch): NodeJS.ReadableStream {
    return createReadStream(b.file!, { start: b.bodyOffset ?? 0 });
  }

  async remove(b: Batch): Promise<void> {
    if (b.file === null) return;
    await unlink(b.file).catch(() => undefined);
    b.file = null;
  }

  /** Moves a batch the server refused as invalid aside, for a person to look at. */
  async reject(b: Batch): Promise<string> {
    await this.init();
    if (b.file === null) await this.put(b);
    const to = join(this.dir, 'rejected', `${b.table}.${b.id}.ndjson`);
    await rename(b.file!, to);
    b.file = null;
    return to;
  }
}

async function readHeader(file: string): Promise<{ table: string; id: string; rows: number; minTs: number; maxTs: number; bodyOffset: number } | null> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    if (nl < 0) return null;
    const h = JSON.parse(buf.subarray(0, nl).toString('utf8')) as { spool?: number; table: string; id: string; rows: number; minTs: number; maxTs: number };
    return h.spool === 1 ? { ...h, bodyOffset: nl + 1 } : null;
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}
