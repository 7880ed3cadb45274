// Every capture file under a directory (pcap, pcapng, cap; gzip'd or numbered as rotated), in name
// order: what the differential tests run over test/fixtures and the corpus.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function captures(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz|\.\d+)?$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}
