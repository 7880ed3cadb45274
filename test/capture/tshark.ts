/**
 * tshark helpers for differential tests of the capture readers and writer.
 */
import { spawnSync } from 'node:child_process';
import { readCapture } from '../../src/capture/reader.js';
import type { CaptureSummary } from '../../src/capture/record.js';

/** tshark's notes that are about the environment, not about the file. */
const ENV_NOISE = /^Running as user "root" and group "root"\. This could be dangerous\.$/;

export interface ToolRun {
  stdout: string;
  /** stderr without environment noise lines. */
  stderr: string;
  status: number | null;
}

export function runTool(cmd: string, args: string[]): ToolRun {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l !== '' && !ENV_NOISE.test(l))
    .join('\n');
  return { stdout: r.stdout, stderr, status: r.status };
}

/** tshark's per-frame "epoch.nanoseconds caplen len interface_id" lines (interface id 0 for pcap). */
export function tsharkFrames(file: string): { lines: string[]; stderr: string } {
  const r = runTool('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id']);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const p = l.split('\t');
      if (p[3] === '') p[3] = '0';
      if (p[0] === '') p[0] = '0.000000000'; // Simple Packet Blocks have no time; we report 0
      return p.join('\t');
    });
  return { lines, stderr: r.stderr };
}

/**
 * Our reader's frames in the same format as tsharkFrames. tshark's frame.interface_id counts
 * within a pcapng section, so the section-local id is printed (PacketRecord.interfaceId is unique
 * across the file).
 */
export async function ourFrames(file: string): Promise<{ lines: string[]; summary: CaptureSummary }> {
  const lines: string[] = [];
  const local: number[] = [];
  const summary = await readCapture(
    file,
    (r) => {
      lines.push(`${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}\t${r.capturedLength}\t${r.originalLength}\t${local[r.interfaceId]}`);
    },
    { onInterface: (i) => void (local[i.id] = i.sectionInterfaceId) },
  );
  return { lines, summary };
}
