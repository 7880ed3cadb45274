/**
 * The application bytes a capture carries, decrypted with a key log where it can be: what `follow`
 * and `http` may rightly print. The leak oracle asks it before calling a run a leak: a secret that
 * the traffic itself carries (an `openssl s_server -www` page lists its session's Master-Key) is
 * captured data, not mirrorlens echoing the key log.
 */
import { CaptureParser } from '../src/capture/parser.js';
import { capturePointOf } from '../src/flow/pipeline.js';
import type { StreamSink } from '../src/flow/stream.js';
import { FlowTable } from '../src/flow/table.js';
import { KeyLog } from '../src/tls/keylog.js';
import { appSinkFactory } from '../src/tls/sniff.js';
import { PacketDecoder } from '../src/wire/packet.js';

const MAX_BYTES = 16 << 20;

/** Every connection's (decrypted) bytes, both directions, as latin1 text; at most 16 MiB. */
export function plaintextOf(capture: Uint8Array, keylog: Uint8Array | null): string {
  const keys = new KeyLog();
  if (keylog !== null) keys.addText(Buffer.from(keylog).toString('latin1'), 'keys.log');
  const parts: string[] = [];
  let size = 0;
  const collect: StreamSink = {
    data(_dir, b, offset, length) {
      if (size >= MAX_BYTES) return;
      parts.push(Buffer.from(b.buffer, b.byteOffset + offset, length).toString('latin1'));
      size += length;
    },
    gap() {},
    end() {},
  };
  const table = new FlowTable({ onConnectionStart: appSinkFactory(keys, () => collect) });
  const dec = new PacketDecoder();
  let last = -Infinity;
  const parser = new CaptureParser('capture', {
    onPacket(rec) {
      dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      if (rec.time > last) last = rec.time;
      table.ingest(rec, dec, capturePointOf(dec, rec));
    },
    onSecrets(type, data) {
      keys.addDsb(type, data);
    },
  });
  try {
    parser.push(capture);
    parser.end();
  } catch {
    /* not a capture: whatever was read */
  }
  table.finish(Number.isFinite(last) ? last : undefined);
  return parts.join('\n');
}
