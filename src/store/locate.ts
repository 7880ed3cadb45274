/**
 * Where a connection's packets are, from the store: the capture files its node wrote or read while
 * it lasted (its first packet's file first), so `follow --store` reads just those.
 */
import type { StoreReader } from './open.js';

export interface ConnLocation {
  uid: string;
  node: string;
  files: string[];
  /** Byte offset of a block at or before the first packet in files[0] (-1: unknown). */
  offset: number;
}

export async function locateConnection(reader: StoreReader, uid: string): Promise<ConnLocation | null> {
  const rows = await reader.query(`SELECT node, ts, end_ts, file, file_offset, last_file FROM conns WHERE uid = ${reader.literal(uid)} ORDER BY ts LIMIT 1`);
  const c = rows[0];
  if (!c) return null;
  const node = String(c.node);
  const caps = await reader.query(`SELECT file FROM captures WHERE node = ${reader.literal(node)} AND end_ts >= ${Number(c.ts)} AND ts <= ${Number(c.end_ts)} ORDER BY ts`);
  const files: string[] = [];
  for (const f of [String(c.file), ...caps.map((r) => String(r.file)), String(c.last_file)]) if (f && !files.includes(f)) files.push(f);
  // The first packet's file first, then the others in time order.
  return { uid, node, files, offset: Number(c.file_offset) };
}
