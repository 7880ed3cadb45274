/**
 * The native receive engines (native/recv.c, an N-API addon built at install time by
 * scripts/build-native.mjs): recvmmsg(2) batches on a UDP socket ("mmsg"), and an AF_PACKET
 * TPACKET_V3 ring ("ring") for capturing on an interface. When the addon was not built (no C
 * compiler, not Linux, MIRRORLENS_SKIP_NATIVE=1) `loadNative()` says why, and `listen` falls back
 * to Node's own socket ("socket" engine).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

export interface NativeUdp {
  fd: number;
  port: number;
  recvBufferBytes: number;
}

export interface NativeRing {
  handle: object;
  fd: number;
  ifindex: number;
  /** ARPHRD_* of the interface (1 Ethernet, 772 loopback, 65534 none/tun), -1 for all interfaces. */
  arphrd: number;
}

export interface RingStats {
  /** Frames the ring's filter accepted (kept and dropped). */
  packets: number;
  /** Frames dropped because the ring was full. */
  drops: number;
  freezes: number;
}

/** The addon's functions (see native/recv.c for their contracts). */
export interface NativeAddon {
  version: number;
  /** The hash of the native/recv.c it was built from (scripts/native-hash.mjs); absent in addons built before it existed. */
  sourceHash?: string;
  /** The C side's buffer layouts: they must be this file's UDP_META_WORDS, RING_META_WORDS, UDP_BATCH. */
  udpMetaWords?: number;
  ringMetaWords?: number;
  udpBatch?: number;
  udpOpen(family: 4 | 6, address: string, port: number, recvBufferBytes: number, reusePort: boolean, dropAll: boolean): NativeUdp;
  udpRecv(fd: number, buf: Uint8Array, slotSize: number, meta: Int32Array): number;
  ringOpen(ifname: string, blockSize: number, blocks: number, blockTimeoutMs: number, filter: Int32Array | null): NativeRing;
  ringRead(handle: object, buf: Uint8Array, meta: Int32Array): number;
  ringStats(handle: object): RingStats;
  ringClose(handle: object): void;
  watch(fd: number, onReadable: (status: number) => void): object;
  unwatch(watch: object): void;
  closeFd(fd: number): void;
}

/** Words per datagram in udpRecv's meta array: length, family, address (4 words), port, flags, arrival seconds, nanoseconds. */
export const UDP_META_WORDS = 10;
/** Most datagrams one udpRecv call returns. */
export const UDP_BATCH = 64;
/** Words per frame in ringRead's meta array: offset, captured, original, sec, nsec, packet type, ARPHRD type. */
export const RING_META_WORDS = 8;

/** sll_pkttype values (linux/if_packet.h). */
export const PacketType = { Host: 0, Broadcast: 1, Multicast: 2, OtherHost: 3, Outgoing: 4 } as const;

let cached: { addon: NativeAddon | null; why: string } | null = null;

const REBUILD = 'run npm rebuild, or node scripts/build-native.mjs; needs a C compiler and Linux';

/** The hash scripts/native-hash.mjs computes (and binding.gyp compiles into the addon): 16 hex digits of SHA-256. */
export function nativeSourceHash(source: Uint8Array): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/**
 * Loads the addon at `addonPath` if it was built from `sourcePath` (native/recv.c) as it is now
 * and shares this file's buffer layouts; else null with the reason. An addon built before a change
 * to the C side would read and write the JavaScript's buffers with another layout: never used.
 */
export function loadAddon(addonPath: string, sourcePath: string, statusPath?: string): { addon: NativeAddon | null; why: string } {
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
  } catch (e) {
    let why = 'the native addon was not built at install';
    try {
      const s = statusPath ? readFileSync(statusPath, 'utf8').trim() : '';
      if (s && !s.startsWith('built')) why = `the native addon was not built at install: ${s}`;
      else if (s.startsWith('built')) why = `the native addon does not load: ${(e as Error).message.split('\n')[0]}`;
      else why += ` (${REBUILD})`;
    } catch {
      // no status file: install scripts did not run (npm --ignore-scripts)
      why += ` (${REBUILD})`;
    }
    return { addon: null, why };
  }
  let want: string;
  try {
    want = nativeSourceHash(readFileSync(sourcePath));
  } catch {
    return { addon: null, why: `the native addon cannot be checked against its source (${sourcePath} is missing; ${REBUILD})` };
  }
  if (addon.sourceHash !== want) {
    const built = addon.sourceHash === undefined ? 'an older native/recv.c' : `native/recv.c ${addon.sourceHash}`;
    return { addon: null, why: `the native addon is stale: built from ${built}, the source is now ${want} (${REBUILD})` };
  }
  const layout: [keyof NativeAddon, number][] = [
    ['udpMetaWords', UDP_META_WORDS],
    ['ringMetaWords', RING_META_WORDS],
    ['udpBatch', UDP_BATCH],
  ];
  for (const [k, v] of layout) {
    if (addon[k] !== v) return { addon: null, why: `the native addon does not match this mirrorlens: its ${k} is ${String(addon[k])}, ${v} expected` };
  }
  return { addon, why: 'built at install' };
}

/** The addon, or null with the reason it is not there. Loaded once. */
export function loadNative(): { addon: NativeAddon | null; why: string } {
  if (cached) return cached;
  if (process.env.MIRRORLENS_NO_NATIVE === '1') return (cached = { addon: null, why: 'MIRRORLENS_NO_NATIVE=1' });
  const root = new URL('../../', import.meta.url);
  const at = (p: string): string => new URL(p, root).pathname;
  return (cached = loadAddon(at('build/Release/mirrorlens_recv.node'), at('native/recv.c'), at('build/native-status.txt')));
}
