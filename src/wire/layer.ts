/**
 * Layer ids: small integers stored in PacketDecoder.layerType (a Uint8Array), outer → inner.
 * 0 means "none" (e.g. tunnelType of a plain packet). Re-exported by packet.ts.
 */
export const Layer = {
  None: 0,
  Ethernet: 1,
  Vlan: 2,
  Sll: 3,
  Sll2: 4,
  Null: 5,
  Ipv4: 6,
  Ipv6: 7,
  Tcp: 8,
  Udp: 9,
  Icmpv4: 10,
  Icmpv6: 11,
  Vxlan: 12,
  Geneve: 13,
  /** Transport payload (or undecoded rest: ARP, GRE, ESP, non-first fragments...). */
  Payload: 14,
  /** The frame as a whole (errors before any header: unknown link type). */
  Frame: 15,
} as const;
export type Layer = (typeof Layer)[keyof typeof Layer];

/** Lower-case names, indexed by Layer id (as printed by `mirrorlens read` and in JSON). */
export const LAYER_NAMES: readonly string[] = ['none', 'eth', 'vlan', 'sll', 'sll2', 'null', 'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'vxlan', 'geneve', 'payload', 'frame'];
