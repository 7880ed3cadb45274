/**
 * Rewrites a pcapng so that every Decryption Secrets Block comes before the first packet.
 *
 * A live capture learns TLS keys as the key log grows, so `listen` writes them as DSBs after the
 * first packets of the connections they decrypt. mirrorlens reads them wherever they are, but
 * Wireshark/tshark (single pass) only use secrets seen before a record: moving them to the front
 * makes the file self-contained for Wireshark too (what `editcap --inject-secrets` would do).
 * Streaming: one pass to collect the secrets (small), one to copy; the result replaces the file
 * atomically (rename), and nothing is rewritten when the secrets already come first.
 */
import { renameSync, unlinkSync } from 'node:fs';
import { PcapngWriter } from './pcapng-writer.js';
import { readCapture } from './reader.js';

/** Returns true when the file was rewritten. */
export async function moveSecretsFirst(path: string): Promise<boolean> {
  const secrets: { type: number; data: Uint8Array }[] = [];
  let packetsSeen = 0;
  let late = false;
  await readCapture(path, () => void packetsSeen++, {
    onSecrets: (type, data) => {
      if (packetsSeen > 0) late = true;
      secrets.push({ type, data: Uint8Array.from(data) });
    },
  });
  if (!late) return false;
  const tmp = `${path}.secrets-first.tmp`;
  const w = new PcapngWriter({ path: tmp }, { shb: { userAppl: 'mirrorlens (secrets moved before the packets)' } });
  try {
    for (const s of secrets) w.writeSecrets(s.type, s.data);
    const ids = new Map<number, number>();
    await readCapture(
      path,
      (r) => {
        const id = ids.get(r.interfaceId);
        if (id !== undefined) w.writePacket(id, r.tsSec, r.tsNsec, r.data, r.offset, r.capturedLength, r.originalLength, r.comment, r.flags || undefined);
      },
      {
        onInterface: (i) => {
          ids.set(i.id, w.addInterface({ linkType: i.linkType, name: i.name ?? undefined, description: i.description ?? undefined, snaplen: i.snaplen, tsresol: 9 }));
        },
      },
    );
    w.close();
  } catch (e) {
    try {
      w.close();
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  renameSync(tmp, path);
  return true;
}
