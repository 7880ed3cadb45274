/**
 * The native receive engines (native/recv.c, an N-API addon built at install time by
 * scripts/build-native.mjs): recvmmsg(2) batches on a UDP socket ("mmsg"), and an AF_PACKET
 * TPACKET_V3 ring ("ring") for capturing on an interface. When the addon was not built (no C
 * compiler, not Linux, MIRRORLENS_SKIP_NATIVE=1) `loadNative()` says why, and `listen` falls back
 * to Node's own socket ("socket" engine).
 */
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

/** The addon, or null with the reason it is not there. Loaded once. */
export function loadNative(): { addon: NativeAddon | null; why: string } {
  if (cached) return cached;
  const root = new URL('../../', import.meta.url);
  if (process.env.MIRRORLENS_NO_NATIVE === '1') return (cached = { addon: null, why: 'MIRRORLENS_NO_NATIVE=1' });
  try {
    const addon = createRequire(import.meta.url)(new URL('build/Release/mirrorlens_recv.node', root).pathname) as NativeAddon;
    return (cached = { addon, why: 'built at install' });
  } catch (e) {
    let why = 'the native addon was not built at install';
    try {
      const s = readFileSync(new URL('build/native-status.txt', root), 'utf8').trim();
      if (s && s !== 'built') why = `the native addon was not built at install: ${s}`;
      else if (s === 'built') why = `the native addon does not load: ${(e as Error).message.split('\n')[0]}`;
    } catch {
      // no status file: install scripts did not run (npm --ignore-scripts)
      why += ' (run npm rebuild, or node scripts/build-native.mjs; needs a C compiler and Linux)';
    }
    return (cached = { addon: null, why });
  }
}
