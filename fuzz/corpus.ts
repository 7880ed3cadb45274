/**
 * The fuzzer's seeds, all from the repository's own test fixtures (test/fixtures, with their
 * provenance in its README): every capture (pcap, pcapng, gzip), each with the key log that
 * belongs to it; the frames inside them; their TCP connections as the byte streams the TLS and
 * HTTP stages see; the access and flow logs; the key logs; and the frames of the packet target's
 * saved failures (fuzz/regressions/packet). Loaded in a fixed order, so that an input is known by
 * its seed alone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CaptureParser } from '../src/capture/parser.js';
import type { PacketRecord } from '../src/capture/record.js';
import { FlowTable } from '../src/flow/table.js';
import type { ConnInfo, Direction, StreamSink } from '../src/flow/stream.js';
import { PacketDecoder } from '../src/wire/packet.js';
import { capturePointOf } from '../src/flow/pipeline.js';

export const FIXTURES = resolve(import.meta.dirname, '../test/fixtures');
/** Saved failures, replayed before every run (fuzz/run.ts); the packet ones are seeds too. */
export const REGRESSIONS = resolve(import.meta.dirname, 'regressions');

/** A capture larger than this is cut at the last block boundary before it (fuzzing speed). */
export const MAX_CAPTURE_BYTES = 64 * 1024;
/** Bytes of one TCP connection's stream kept as a seed. */
const MAX_STREAM_BYTES = 64 * 1024;

export interface CaptureSeed {
  /** Path under test/fixtures. */
  name: string;
  bytes: Uint8Array;
  /** The key log that belongs to it (NSS format text), or null. */
  keylog: string | null;
}

export interface FrameSeed {
  linkType: number;
  bytes: Uint8Array;
}

export interface StreamChunk {
  dir: Direction;
  bytes: Uint8Array;
  time: number;
}

export interface StreamSeed {
  name: string;
  /** The connection's first client byte was a TLS handshake record (0x16). */
  tls: boolean;
  chunks: StreamChunk[];
  keylog: string | null;
}

export interface LogSeed {
  name: string;
  kind: 'alb' | 'alb-conn' | 'nlb' | 'clb' | 'flow';
  text: string;
}

export interface Corpus {
  captures: CaptureSeed[];
  frames: FrameSeed[];
  streams: StreamSeed[];
  logs: LogSeed[];
  keylogs: { name: string; text: string }[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const CAPTURE_RE = /\.(pcap|pcapng)(\.\d+)?(\.gz)?$/;
const KEYLOG_RE = /(\.keylog|_keylog\.dat|\.keys|keylog\.txt|log\.txt)$/;

/** The key log of a capture: same name with a key-log suffix, else the directory's log.txt / keylog.txt. */
function keylogFor(capture: string, files: readonly string[]): string | null {
  const stem = capture.replace(CAPTURE_RE, '');
  const dir = dirname(capture);
  const candidates = [`${stem}.derived.keylog`, `${stem}.keylog`, `${stem}_keylog.dat`, `${stem}.keys`, `${stem}.txt`, join(dir, 'keylog.txt'), join(dir, 'log.txt')];
  for (const c of candidates) if (files.includes(c) && !c.endsWith('.tshark.txt')) return readFileSync(c, 'latin1');
  return null;
}

/** The first complete blocks/records of a capture, at most MAX_CAPTURE_BYTES. */
function cutCapture(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= MAX_CAPTURE_BYTES) return bytes;
  let cut = 0;
  const parser = new CaptureParser('seed', {
    onPacket: (rec: PacketRecord) => {
      if (rec.byteOffset <= MAX_CAPTURE_BYTES) cut = rec.byteOffset;
    },
  });
  try {
    parser.push(bytes.subarray(0, MAX_CAPTURE_BYTES + 65536));
  } catch {
    return bytes.subarray(0, MAX_CAPTURE_BYTES);
  }
  return bytes.subarray(0, cut > 0 ? cut : MAX_CAPTURE_BYTES);
}

/** Records every connection's byte stream (first MAX_STREAM_BYTES) as the flow stage delivers it. */
function streamsOf(name: string, bytes: Uint8Array, keylog: string | null, out: StreamSeed[], frames: FrameSeed[]): void {
  const open = new Map<string, StreamSeed & { size: number }>();
  const table = new FlowTable({
    onConnectionStart(conn: ConnInfo): StreamSink {
      const s = { name: `${name}#${conn.uid}`, tls: false, chunks: [] as StreamChunk[], keylog, size: 0 };
      open.set(conn.uid, s);
      return {
        data(dir, b, offset, length, _so, time) {
          if (s.chunks.length === 0 && dir === 0) s.tls = b[offset] === 0x16;
          if (s.size >= MAX_STREAM_BYTES) return;
          s.chunks.push({ dir, bytes: b.slice(offset, offset + length), time });
          s.size += length;
        },
        gap() {},
        end() {},
      };
    },
    onConnectionEnd(rec) {
      const s = open.get(rec.uid);
      open.delete(rec.uid);
      if (s && s.chunks.length > 0) out.push({ name: s.name, tls: s.tls, chunks: s.chunks, keylog: s.keylog });
    },
  });
  const dec = new PacketDecoder();
  let last = 0;
  const parser = new CaptureParser(name, {
    onPacket(rec) {
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      if (frames.length < 20_000) frames.push({ linkType: rec.linkType, bytes: rec.data.slice(rec.offset, rec.offset + rec.capturedLength) });
      last = Math.max(last, rec.time);
      table.ingest(rec, dec, capturePointOf(dec, rec));
    },
  });
  try {
    parser.push(bytes);
    parser.end();
  } catch {
    /* a seed that is not a capture at all: its frames and streams are simply absent */
  }
  table.finish(last || undefined);
}

/** Loads every seed from test/fixtures. */
export function loadCorpus(root = FIXTURES): Corpus {
  const files = walk(root);
  const corpus: Corpus = { captures: [], frames: [], streams: [], logs: [], keylogs: [] };
  for (const f of files) {
    const name = relative(root, f);
    if (CAPTURE_RE.test(f)) {
      let bytes: Uint8Array = readFileSync(f);
      if (f.endsWith('.gz')) {
        // Kept compressed once (the gzip path), and decompressed for everything else.
        corpus.captures.push({ name, bytes, keylog: keylogFor(f, files) });
        bytes = gunzipSync(bytes);
      }
      const keylog = keylogFor(f, files);
      const cut = cutCapture(bytes);
      corpus.captures.push({ name: f.endsWith('.gz') ? `${name} (gunzipped)` : name, bytes: cut, keylog });
      streamsOf(name, cut, keylog, corpus.streams, corpus.frames);
    } else if (KEYLOG_RE.test(f) && !f.endsWith('.tshark.txt')) {
      corpus.keylogs.push({ name, text: readFileSync(f, 'latin1') });
    } else if (/aws-logs\/.*\.log$/.test(f)) {
      const b = basename(f);
      const kind = b.startsWith('alb-conn') ? 'alb-conn' : b.startsWith('alb') ? 'alb' : b.startsWith('nlb') ? 'nlb' : b.startsWith('clb') ? 'clb' : 'flow';
      corpus.logs.push({ name, kind, text: readFileSync(f, 'utf8') });
    }
  }
  // Frames that once crashed the decoder: mutations of them look next door for the same kind of bug.
  const packetRegressions = join(REGRESSIONS, 'packet');
  if (root === FIXTURES && existsSync(packetRegressions)) {
    for (const d of readdirSync(packetRegressions).sort()) {
      const dir = join(packetRegressions, d);
      if (!existsSync(join(dir, 'frame.bin'))) continue;
      const meta = JSON.parse(readFileSync(join(dir, 'reproducer.json'), 'utf8')) as { meta: { linkType: number } };
      corpus.frames.push({ linkType: meta.meta.linkType, bytes: readFileSync(join(dir, 'frame.bin')) });
    }
  }
  return corpus;
}
