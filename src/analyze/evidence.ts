/**
 * `--evidence DIR`: per finding, a small pcapng holding only the packets of the connections
 * involved (as captured, encapsulation included) and a Decryption Secrets Block with only the
 * key-log lines those connections need, so it opens decrypted in Wireshark; plus the finding as
 * JSON. A second streaming pass over the captures; memory stays small.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { readCapture } from '../capture/reader.js';
import type { ConnView } from '../correlate/views.js';
import type { Finding } from '../diagnose/finding.js';
import { DSB_TLS_KEYLOG } from '../tls/keylog.js';
import { PacketDecoder } from '../wire/packet.js';
import { Status } from '../wire/status.js';
import type { AnalysisContext, AnalyzeInputs } from './options.js';
import type { Report } from './model.js';

/** Renders one finding's JSON file (the report stage's renderer: the session does not format). */
export type FindingJsonRenderer = (report: Report, finding: Finding) => string;

interface Span {
  finding: number;
  start: number;
  end: number;
}

function tupleKey(aAddr: string, aPort: number, bAddr: string, bPort: number): string {
  const a = `${aAddr}|${aPort}`;
  const b = `${bAddr}|${bPort}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The key-log lines (any label) whose client random is in `randoms`. */
export function keyLinesFor(texts: readonly string[], randoms: ReadonlySet<string>): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const parts = line.split(/\s+/);
      if (parts.length < 3) continue;
      if (randoms.has(parts[1]!.toLowerCase()) && !seen.has(line)) {
        seen.add(line);
        out.push(line);
      }
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
}

/** Writes the evidence files; returns how many files were written. */
export async function writeEvidence(report: Report, ctx: AnalysisContext, inputs: AnalyzeInputs, dir: string, findingJson: FindingJsonRenderer): Promise<number> {
  if (report.findings.length === 0) return 0;
  const byTuple = new Map<string, Span[]>();
  const writers: (PcapngWriter | null)[] = [];
  const ifaces: Map<string, number>[] = [];
  let files = 0;
  report.findings.forEach((f, i) => {
    const base = join(dir, `${String(i + 1).padStart(3, '0')}-${safeName(f.kind)}`);
    writeFileSync(`${base}.json`, findingJson(report, f));
    files++;
    const conns = f.connectionUids.map((u) => ctx.connections.get(u)).filter((c): c is ConnView => c !== undefined);
    if (conns.length === 0) {
      writers.push(null);
      ifaces.push(new Map());
      return;
    }
    const w = new PcapngWriter({ path: `${base}.pcapng` }, { shb: { userAppl: `mirrorlens evidence for finding ${f.id} (${f.kind})` } });
    files++;
    const randoms = new Set<string>();
    for (const c of conns) for (const r of ctx.clientRandomsByUid.get(c.uid) ?? []) randoms.add(r.toLowerCase());
    const lines = keyLinesFor(ctx.keyLogTexts, randoms);
    if (lines) w.writeSecrets(DSB_TLS_KEYLOG, Buffer.from(lines, 'utf8'));
    writers.push(w);
    ifaces.push(new Map());
    for (const c of conns) {
      const k = tupleKey(c.clientAddr, c.clientPort, c.serverAddr, c.serverPort);
      const list = byTuple.get(k) ?? [];
      list.push({ finding: i, start: c.startTime - 1, end: c.endTime + 1 });
      byTuple.set(k, list);
    }
  });
  const dec = new PacketDecoder();
  for (const [fileIndex, input] of inputs.captures.entries()) {
    await readCapture(input, (rec) => {
      const st = dec.decode(rec.linkType, rec.data, rec.offset, rec.capturedLength);
      if (dec.transport !== 6 || (st !== Status.Ok && st !== Status.Truncated)) return;
      const spans = byTuple.get(tupleKey(dec.srcAddrString(), dec.srcPort, dec.dstAddrString(), dec.dstPort));
      if (!spans) return;
      for (const s of spans) {
        if (rec.time < s.start || rec.time > s.end) continue;
        const w = writers[s.finding];
        if (!w) continue;
        const ifKey = `${fileIndex}|${rec.interfaceId}`;
        const m = ifaces[s.finding]!;
        let id = m.get(ifKey);
        if (id === undefined) {
          id = w.addInterface({ linkType: rec.linkType, name: `capture ${fileIndex + 1} interface ${rec.interfaceId}` });
          m.set(ifKey, id);
        }
        w.writePacket(id, rec.tsSec, rec.tsNsec, rec.data, rec.offset, rec.capturedLength, rec.originalLength);
      }
    });
  }
  for (const w of writers) w?.close();
  return files;
}
