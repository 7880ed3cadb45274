/**
 * PacketDecoder: walks one captured frame from its link layer to the innermost transport,
 * through VXLAN and GENEVE tunnels, into views it owns and reuses (gopacket's DecodingLayerParser
 * idea, smoltcp's check-then-read views). No allocation and no exception per packet.
 *
 * ```
 * link (Ethernet / SLL / SLL2 / null / raw IP)
 *   → VLAN tags (0x8100, 0x88a8, 0x9100, 0x9200; any number up to the layer cap)
 *   → IPv4 / IPv6 (extension headers walked) [→ IPv4/IPv6 again for IP-in-IP, 4 / 41]
 *   → TCP / UDP / ICMPv4 / ICMPv6 / other (kept as payload)
 *   → UDP dst or src port in vxlanPorts (4789, 8472) → VXLAN → Ethernet → ...
 *     UDP dst or src port in genevePorts (6081)     → GENEVE → Ethernet | IPv4 | IPv6 → ...
 * ```
 * After decode(): the layer stack (outer → inner) in layerType/layerOffset/layerLength; the
 * innermost IP and transport in ip4/ip6/tcp/udp/icmp; the outermost tunnel's IP/UDP in
 * outerIp4/outerIp6/outerUdp (the mirror source → target addresses); VNI and GENEVE options.
 * Views keep their identity across decodes (read them after each decode; they hold offsets into
 * `data`, valid until the next decode).
 *
 * Status: Ok when every layer decoded (an IP packet with an undecoded protocol such as GRE or ESP
 * is Ok, its payload a Payload layer); Truncated when the bytes end inside a header; Malformed when
 * a header contradicts its spec; Unsupported for what is not decoded: a non-IP EtherType (ARP,
 * LLDP), an unknown link type, a GENEVE version/protocol we do not know, nesting beyond maxDepth.
 * On a non-Ok status, errorLayer/errorReason say where and why; the layers before it are valid.
 */
import { Status } from './status.js';
import { Layer, LAYER_NAMES } from './layer.js';
import { A } from './anomaly.js';
import { EthernetView, LinkType, LINKTYPE_RAW_BSD, LINKTYPE_RAW_OPENBSD, NullView, Sll2View, SllView, VlanView, isVlanTpid } from './link.js';
import { Ipv4View, ipv4ToString } from './ipv4.js';
import { Ipv6View, ipv6ToString } from './ipv6.js';
import { TcpView } from './tcp.js';
import { UdpView } from './udp.js';
import { IcmpView } from './icmp.js';
import { VxlanView } from './vxlan.js';
import { GeneveView, GWLB_OPTION_CLASS } from './geneve.js';
import { finish, pseudoSum4, pseudoSum6, sumBytes } from './checksum.js';

export { Layer, LAYER_NAMES } from './layer.js';
export { LinkType } from './link.js';
export { ipv4ToString, parseIpv4, Ipv4View } from './ipv4.js';
export { ipv6ToString, parseIpv6, Ipv6View } from './ipv6.js';
export { TcpView, TcpFlag } from './tcp.js';
export { UdpView } from './udp.js';
export { IcmpView } from './icmp.js';
export { VxlanView } from './vxlan.js';
export { GeneveView, GWLB_OPTION_CLASS, GwlbOptionType } from './geneve.js';

export interface PacketDecoderOptions {
  /** Validate IPv4 header, TCP, UDP and ICMP checksums (default false: mirrored packets often carry wrong ones). */
  validateChecksums?: boolean;
  /** Maximum tunnel nesting (VXLAN/GENEVE levels) decoded; deeper is Unsupported. Default 4. */
  maxDepth?: number;
  /** UDP ports decoded as VXLAN (either port matches; destination checked first). Default [4789, 8472]. */
  vxlanPorts?: readonly number[];
  /** UDP ports decoded as GENEVE. Default [6081]. */
  genevePorts?: readonly number[];
}

/** Most layers kept per packet (VLAN tags, tunnels and IP-in-IP all count). */
export const MAX_LAYERS = 32;
/** Most VLAN ids remembered per (inner) frame. */
export const MAX_VLANS = 8;
/** Most anomalies remembered per packet. */
export const MAX_PACKET_ANOMALIES = 16;

const PORT_VXLAN = 1;
const PORT_GENEVE = 2;

// What to decode next.
const K_DONE = 0;
const K_ETH = 1;
const K_ETHERTYPE = 2;
const K_IP4 = 3;
const K_IP6 = 4;
const K_IP_ANY = 5;
const K_TRANSPORT = 6;
const K_VXLAN = 7;
const K_GENEVE = 8;

/** errorReason constants: "<layer>: <status>" plus a few specific ones. */
const REASONS: readonly (readonly string[])[] = LAYER_NAMES.map((n) => ['', `${n} header truncated`, `${n} header malformed`, `${n} not supported`]);
const R_LINKTYPE = 'link type not supported';
const R_ETHERTYPE = 'EtherType not decoded (not IP)';
const R_NULL_FAMILY = 'loopback address family not IPv4/IPv6';
const R_IP_VERSION = 'IP version nibble is neither 4 nor 6';
const R_GENEVE_VERSION = 'GENEVE version not 0';
const R_GENEVE_PROTO = 'GENEVE protocol type not Ethernet/IPv4/IPv6';
const R_DEPTH = 'tunnel nesting deeper than maxDepth';
const R_LAYERS = 'more layers than the decoder keeps';

export class PacketDecoder {
  readonly validateChecksums: boolean;
  readonly maxDepth: number;
  private readonly portTable = new Uint8Array(65536);

  status: Status = Status.Ok;
  /** Layer.* of the layer that failed (0 when Ok). */
  errorLayer = 0;
  /** Constant string saying why ('' when Ok). */
  errorReason = '';
  /** The buffer last decoded. */
  data: Uint8Array = new Uint8Array(0);
  /** Link type, offset and length passed to the last decode. */
  linkType = -1;
  frameOffset = 0;
  frameLength = 0;

  layerCount = 0;
  readonly layerType = new Uint8Array(MAX_LAYERS);
  readonly layerOffset = new Int32Array(MAX_LAYERS);
  readonly layerLength = new Int32Array(MAX_LAYERS);

  /** 0 = plain packet; 1 = inside one VXLAN/GENEVE level; ... */
  tunnelDepth = 0;
  /** Innermost VXLAN VNI or GENEVE VNI; -1 if none. */
  vni = -1;
  /** Innermost tunnel: Layer.Vxlan | Layer.Geneve | 0. */
  tunnelType = 0;
  /** Outermost tunnel: Layer.Vxlan | Layer.Geneve | 0 (GWLB + Traffic Mirroring: Geneve outside, Vxlan inside). */
  outerTunnelType = 0;
  /** Innermost VXLAN header (valid when a VXLAN layer was seen). */
  readonly vxlan = new VxlanView();
  /** Outermost GENEVE header (valid when a GENEVE layer was seen); GWLB option accessors on it. */
  readonly geneve = new GeneveView();
  private readonly geneveScratch = new GeneveView();
  /** True when a GENEVE layer was seen in this packet. */
  hasGeneve = false;

  /** Outermost tunnel's carrier IP version and headers (mirror source → mirror target); 0 when not tunneled. */
  outerIpVersion: 0 | 4 | 6 = 0;
  readonly outerIp4 = new Ipv4View();
  readonly outerIp6 = new Ipv6View();
  readonly outerUdp = new UdpView();

  readonly eth = new EthernetView();
  private readonly vlan = new VlanView();
  readonly sll = new SllView();
  readonly sll2 = new Sll2View();
  private readonly nul = new NullView();
  /** VLAN tags of the innermost Ethernet frame, outer tag first. */
  vlanCount = 0;
  private readonly vlanIds = new Uint16Array(MAX_VLANS);

  /** Innermost IP. */
  ipVersion: 0 | 4 | 6 = 0;
  readonly ip4 = new Ipv4View();
  readonly ip6 = new Ipv6View();
  /** IP-in-IP: the inner header is checked here and becomes ip4/ip6 only once it decodes. */
  private readonly ip4Scratch = new Ipv4View();
  private readonly ip6Scratch = new Ipv6View();
  /** Innermost IP protocol number (6, 17, 1, 58, ...) or -1. */
  transport = -1;
  readonly tcp = new TcpView();
  readonly udp = new UdpView();
  readonly icmp = new IcmpView();
  /** Innermost transport payload in `data` (after the TCP/UDP/ICMP header or the IP header). */
  payloadOffset = 0;
  payloadLength = 0;

  /** First layer whose checksum failed validation (Layer.*), 0 if none or not validating. */
  badChecksumLayer = 0;
  /** Anomalies noticed in this packet (ids into ANOMALIES). */
  anomalyCount = 0;
  private readonly anomalyIds = new Uint16Array(MAX_PACKET_ANOMALIES);

  constructor(opts: PacketDecoderOptions = {}) {
    this.validateChecksums = opts.validateChecksums ?? false;
    this.maxDepth = opts.maxDepth ?? 4;
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < 0) throw new RangeError(`maxDepth must be a non-negative integer, got ${opts.maxDepth}`);
    for (const p of opts.vxlanPorts ?? [4789, 8472]) this.setPort(p, PORT_VXLAN, 'vxlanPorts');
    for (const p of opts.genevePorts ?? [6081]) this.setPort(p, PORT_GENEVE, 'genevePorts');
  }

  private setPort(p: number, kind: number, name: string): void {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`${name}: ${p} is not a UDP port`);
    this.portTable[p] = kind;
  }

  /** VLAN id of tag i (0 = outermost) of the innermost Ethernet frame. */
  vlanId(i: number): number {
    return this.vlanIds[i]!;
  }

  /** Anomaly id i (0 <= i < anomalyCount); see ANOMALIES. */
  anomalyId(i: number): number {
    return this.anomalyIds[i]!;
  }

  /** Index in the layer stack of the first layer of the given type, -1 if absent. */
  findLayer(type: number, from = 0): number {
    for (let i = from; i < this.layerCount; i++) if (this.layerType[i] === type) return i;
    return -1;
  }

  /** Innermost source / destination address as text ('' without IP). Allocates. */
  srcAddrString(): string {
    return this.ipVersion === 4 ? ipv4ToString(this.ip4.src) : this.ipVersion === 6 ? ipv6ToString(this.data, this.ip6.srcOffset) : '';
  }

  dstAddrString(): string {
    return this.ipVersion === 4 ? ipv4ToString(this.ip4.dst) : this.ipVersion === 6 ? ipv6ToString(this.data, this.ip6.dstOffset) : '';
  }

  /** Outermost tunnel carrier source / destination address ('' when not tunneled). Allocates. */
  outerSrcAddrString(): string {
    return this.outerIpVersion === 4 ? ipv4ToString(this.outerIp4.src) : this.outerIpVersion === 6 ? ipv6ToString(this.data, this.outerIp6.srcOffset) : '';
  }

  outerDstAddrString(): string {
    return this.outerIpVersion === 4 ? ipv4ToString(this.outerIp4.dst) : this.outerIpVersion === 6 ? ipv6ToString(this.data, this.outerIp6.dstOffset) : '';
  }

  /** Innermost source / destination port (TCP/UDP), -1 otherwise. */
  get srcPort(): number {
    return this.transport === 6 && this.tcpOk ? this.tcp.srcPort : this.transport === 17 && this.udpOk ? this.udp.srcPort : -1;
  }

  get dstPort(): number {
    return this.transport === 6 && this.tcpOk ? this.tcp.dstPort : this.transport === 17 && this.udpOk ? this.udp.dstPort : -1;
  }

  /** The innermost TCP / UDP / ICMP view was decoded in this packet. */
  tcpOk = false;
  udpOk = false;
  icmpOk = false;

  private push(type: number, off: number, len: number): boolean {
    if (this.layerCount >= MAX_LAYERS) return false;
    const i = this.layerCount++;
    this.layerType[i] = type;
    this.layerOffset[i] = off;
    this.layerLength[i] = len;
    return true;
  }

  private note(id: number): void {
    if (this.anomalyCount < MAX_PACKET_ANOMALIES) this.anomalyIds[this.anomalyCount++] = id;
  }

  private fail(layer: number, st: Status, reason?: string): Status {
    this.status = st;
    this.errorLayer = layer;
    this.errorReason = reason ?? REASONS[layer]![st]!;
    if (st === Status.Truncated) this.note(A.FrameTruncated);
    return st;
  }

  /**
   * Decodes data[offset, offset+length) captured with the given link type. Resets all state.
   * Never throws on packet bytes (RangeError only for a bad offset/length).
   */
  decode(linkType: number, data: Uint8Array, offset: number, length: number): Status {
    if (offset < 0 || length < 0 || offset + length > data.length) {
      throw new RangeError(`decode: offset ${offset} + length ${length} outside a buffer of ${data.length} bytes`);
    }
    this.data = data;
    this.linkType = linkType;
    this.frameOffset = offset;
    this.frameLength = length;
    this.status = Status.Ok;
    this.errorLayer = 0;
    this.errorReason = '';
    this.layerCount = 0;
    this.tunnelDepth = 0;
    this.vni = -1;
    this.tunnelType = 0;
    this.outerTunnelType = 0;
    this.hasGeneve = false;
    this.outerIpVersion = 0;
    this.vlanCount = 0;
    this.ipVersion = 0;
    this.transport = -1;
    this.tcpOk = false;
    this.udpOk = false;
    this.icmpOk = false;
    this.payloadOffset = offset + length;
    this.payloadLength = 0;
    this.badChecksumLayer = 0;
    this.anomalyCount = 0;

    const b = data;
    let p = offset;
    let end = offset + length;
    let et = 0;
    let kind: number;
    switch (linkType) {
      case LinkType.Ethernet:
        kind = K_ETH;
        break;
      case LinkType.Null:
      case LinkType.Loop: {
        const st = this.nul.check(b, p, end - p, linkType === LinkType.Loop);
        if (st !== Status.Ok) return this.fail(Layer.Null, st);
        this.push(Layer.Null, p, 4);
        p += 4;
        if (this.nul.ipVersion === 0) return this.fail(Layer.Null, Status.Unsupported, R_NULL_FAMILY);
        kind = this.nul.ipVersion === 4 ? K_IP4 : K_IP6;
        break;
      }
      case LinkType.Raw:
      case LINKTYPE_RAW_BSD:
      case LINKTYPE_RAW_OPENBSD:
        kind = K_IP_ANY;
        break;
      case LinkType.Ipv4:
        kind = K_IP4;
        break;
      case LinkType.Ipv6:
        kind = K_IP6;
        break;
      case LinkType.LinuxSll: {
        const st = this.sll.check(b, p, end - p);
        if (st !== Status.Ok) return this.fail(Layer.Sll, st);
        this.push(Layer.Sll, p, 16);
        p += 16;
        et = this.sll.protocol;
        kind = K_ETHERTYPE;
        break;
      }
      case LinkType.LinuxSll2: {
        const st = this.sll2.check(b, p, end - p);
        if (st !== Status.Ok) return this.fail(Layer.Sll2, st);
        this.push(Layer.Sll2, p, 20);
        p += 20;
        et = this.sll2.protocol;
        kind = K_ETHERTYPE;
        break;
      }
      default:
        this.note(A.LinkTypeUnsupported);
        return this.fail(Layer.Frame, Status.Unsupported, R_LINKTYPE);
    }

    let proto = -1;
    while (kind !== K_DONE) {
      switch (kind) {
        case K_ETH: {
          const st = this.eth.check(b, p, end - p);
          if (st !== Status.Ok) return this.fail(Layer.Ethernet, st);
          if (!this.push(Layer.Ethernet, p, 14)) return this.layerLimit();
          this.vlanCount = 0;
          et = this.eth.etherType;
          p += 14;
          kind = K_ETHERTYPE;
          break;
        }
        case K_ETHERTYPE: {
          if (isVlanTpid(et)) {
            const st = this.vlan.check(b, p, end - p, et);
            if (st !== Status.Ok) return this.fail(Layer.Vlan, st);
            if (!this.push(Layer.Vlan, p, 4)) return this.layerLimit();
            if (this.vlanCount < MAX_VLANS) this.vlanIds[this.vlanCount++] = this.vlan.vid;
            et = this.vlan.etherType;
            p += 4;
          } else if (et === 0x0800) kind = K_IP4;
          else if (et === 0x86dd) kind = K_IP6;
          else {
            this.note(A.EtherTypeUnsupported);
            const last = this.layerCount > 0 ? this.layerType[this.layerCount - 1]! : Layer.Frame;
            this.payload(p, end - p);
            return this.fail(last, Status.Unsupported, R_ETHERTYPE);
          }
          break;
        }
        case K_IP_ANY: {
          if (p >= end) return this.fail(Layer.Ipv4, Status.Truncated);
          const v = b[p]! >>> 4;
          if (v === 4) kind = K_IP4;
          else if (v === 6) kind = K_IP6;
          else return this.fail(Layer.Ipv4, Status.Malformed, R_IP_VERSION);
          break;
        }
        case K_IP4: {
          // IP-in-IP (ipVersion already set by the outer header): check the inner header aside, so
          // that a failure leaves ip4/ip6/ipVersion describing the outer one, whose bytes are in the
          // frame (a cut inner IPv6 header once left ip6's address offsets past the frame's end).
          const ipInIp = this.ipVersion !== 0;
          const ip = ipInIp ? this.ip4Scratch : this.ip4;
          const st = ip.check(b, p, end - p);
          if (st !== Status.Ok) {
            if (st === Status.Malformed) this.note(end - p >= 1 && b[p]! >>> 4 !== 4 ? A.Ipv4BadVersion : A.Ipv4BadHeaderLength);
            return this.fail(Layer.Ipv4, st);
          }
          if (ipInIp) this.ip4.copyFrom(ip);
          if (!this.push(Layer.Ipv4, p, ip.headerLength)) return this.layerLimit();
          this.ipVersion = 4;
          if (ip.truncated) this.note(A.Ipv4PayloadTruncated);
          if (ip.tsoLength) this.note(A.Ipv4TsoLengthZero);
          if (ip.optionsMalformed) this.note(A.Ipv4OptionsMalformed);
          if (this.validateChecksums && !ip.checksumOk(b)) this.badChecksum(Layer.Ipv4, A.Ipv4BadChecksum);
          proto = ip.protocol;
          this.transport = proto;
          p = ip.upperOffset;
          end = p + ip.upperLength;
          if (ip.isFragment) {
            this.note(A.Ipv4Fragment);
            if (ip.fragmentOffset !== 0) {
              this.payload(p, end - p);
              return Status.Ok;
            }
          }
          kind = K_TRANSPORT;
          break;
        }
        case K_IP6: {
          const ipInIp = this.ipVersion !== 0; // as for IPv4 above
          const ip = ipInIp ? this.ip6Scratch : this.ip6;
          const st = ip.check(b, p, end - p);
          if (st !== Status.Ok) {
            if (st === Status.Malformed) this.note(end - p >= 1 && b[p]! >>> 4 !== 6 ? A.Ipv6BadVersion : A.Ipv6ExtHeaderMalformed);
            return this.fail(Layer.Ipv6, st);
          }
          if (ipInIp) this.ip6.copyFrom(ip);
          if (!this.push(Layer.Ipv6, p, ip.headerLength)) return this.layerLimit();
          this.ipVersion = 6;
          if (ip.truncated) this.note(A.Ipv6PayloadTruncated);
          if (ip.jumbo) this.note(A.Ipv6JumboOrTso);
          proto = ip.nextHeader;
          this.transport = proto;
          p = ip.upperOffset;
          end = p + ip.upperLength;
          if (ip.isFragment) {
            this.note(A.Ipv6Fragment);
            if (ip.fragmentOffset !== 0) {
              this.payload(p, end - p);
              return Status.Ok;
            }
          }
          kind = K_TRANSPORT;
          break;
        }
        case K_TRANSPORT:
          kind = this.transportLayer(b, proto, p, end);
          if (kind === K_VXLAN || kind === K_GENEVE) {
            if (this.tunnelDepth >= this.maxDepth) {
              this.note(A.TunnelDepthExceeded);
              return this.fail(kind === K_VXLAN ? Layer.Vxlan : Layer.Geneve, Status.Unsupported, R_DEPTH);
            }
            if (this.tunnelDepth === 0) this.keepOuter();
            this.tunnelDepth++;
            p = this.udp.payloadOffset;
            end = p + this.udp.payloadLength;
          } else if (kind === K_IP4 || kind === K_IP6) {
            // IP-in-IP (4) / IPv6-in-IP (41): decode the inner packet as the innermost IP.
          } else if (kind !== K_DONE) return this.status;
          break;
        case K_VXLAN: {
          const v = this.vxlan;
          const st = v.check(b, p, end - p);
          if (st !== Status.Ok) return this.fail(Layer.Vxlan, st);
          if (!this.push(Layer.Vxlan, p, 8)) return this.layerLimit();
          if (!v.vniValid) this.note(A.VxlanIFlagClear);
          if (v.reservedNonZero) this.note(A.VxlanReservedNonZero);
          this.enterTunnel(Layer.Vxlan, v.vni);
          p += 8;
          kind = K_ETH;
          break;
        }
        case K_GENEVE: {
          const g = this.hasGeneve ? this.geneveScratch : this.geneve;
          const st = g.check(b, p, end - p);
          if (st !== Status.Ok) {
            if (st === Status.Unsupported) {
              this.note(A.GeneveVersionUnsupported);
              return this.fail(Layer.Geneve, st, R_GENEVE_VERSION);
            }
            if (st === Status.Malformed) this.note(A.GeneveOptionsMalformed);
            return this.fail(Layer.Geneve, st);
          }
          if (!this.push(Layer.Geneve, p, g.headerLength)) return this.layerLimit();
          this.hasGeneve = true;
          if (g.critical) this.note(A.GeneveCriticalOptions);
          if (g.gwlbSeen !== 0 && !g.hasGwlb) this.note(A.GwlbOptionsIncomplete);
          this.enterTunnel(Layer.Geneve, g.vni);
          p += g.headerLength;
          const pt = g.protocolType;
          if (pt === 0x6558) kind = K_ETH;
          else if (pt === 0x0800) kind = K_IP4;
          else if (pt === 0x86dd) kind = K_IP6;
          else {
            this.note(A.TunnelProtocolUnsupported);
            this.payload(p, end - p);
            return this.fail(Layer.Geneve, Status.Unsupported, R_GENEVE_PROTO);
          }
          break;
        }
        default:
          kind = K_DONE;
      }
    }
    return this.status;
  }

  /** Decodes the transport at p; returns the next kind (K_DONE, K_VXLAN, K_GENEVE, K_IP4/6) or -1 after a failure. */
  private transportLayer(b: Uint8Array, proto: number, p: number, end: number): number {
    const len = end - p;
    if (proto === 6) {
      const t = this.tcp;
      const st = t.check(b, p, len);
      if (st !== Status.Ok) {
        if (st === Status.Malformed) this.note(A.TcpBadHeaderLength);
        this.fail(Layer.Tcp, st);
        return -1;
      }
      this.tcpOk = true;
      this.udpOk = false;
      this.icmpOk = false;
      if (!this.push(Layer.Tcp, p, t.headerLength)) return this.layerLimitKind();
      if (t.optionsMalformed) this.note(A.TcpOptionsMalformed);
      if (this.validateChecksums && !this.ipTruncatedOrFragment()) {
        if (this.l4Sum(b, 6, p, len) !== 0) this.badChecksum(Layer.Tcp, A.TcpBadChecksum);
      }
      this.payload(p + t.headerLength, len - t.headerLength);
      return K_DONE;
    }
    if (proto === 17) {
      const u = this.udp;
      const st = u.check(b, p, len);
      if (st !== Status.Ok) {
        if (st === Status.Malformed) this.note(A.UdpBadLength);
        this.fail(Layer.Udp, st);
        return -1;
      }
      this.udpOk = true;
      this.tcpOk = false;
      this.icmpOk = false;
      if (!this.push(Layer.Udp, p, 8)) return this.layerLimitKind();
      const ipTrunc = this.ipTruncatedOrFragment();
      if (u.length !== 0 && !ipTrunc && u.length !== len) {
        u.lengthMismatch = true;
        this.note(A.UdpLengthMismatch);
      }
      if (this.validateChecksums && !ipTrunc && !u.truncated && u.checksum !== 0) {
        if (this.l4Sum(b, 17, p, u.length === 0 ? len : u.length) !== 0) this.badChecksum(Layer.Udp, A.UdpBadChecksum);
      }
      const k = this.portTable[u.dstPort] || this.portTable[u.srcPort];
      if (k === PORT_VXLAN) return K_VXLAN;
      if (k === PORT_GENEVE) return K_GENEVE;
      this.payload(u.payloadOffset, u.payloadLength);
      return K_DONE;
    }
    if (proto === 1 || proto === 58) {
      const v6 = proto === 58;
      if (v6 !== (this.ipVersion === 6)) {
        // ICMPv6 over IPv4 or ICMPv4 over IPv6: not meaningful; keep as payload.
        this.payload(p, len);
        return K_DONE;
      }
      const ic = this.icmp;
      const layer = v6 ? Layer.Icmpv6 : Layer.Icmpv4;
      const st = ic.check(b, p, len, v6 ? 6 : 4);
      if (st !== Status.Ok) {
        this.fail(layer, st);
        return -1;
      }
      this.icmpOk = true;
      this.tcpOk = false;
      this.udpOk = false;
      if (!this.push(layer, p, 8)) return this.layerLimitKind();
      if (this.validateChecksums && !this.ipTruncatedOrFragment()) {
        const s = v6 ? this.l4Sum(b, 58, p, len) : finish(sumBytes(b, p, len, 0));
        if (s !== 0) this.badChecksum(layer, A.IcmpBadChecksum);
      }
      this.payload(p + 8, len - 8);
      return K_DONE;
    }
    if (proto === 4) return K_IP4;
    if (proto === 41) return K_IP6;
    if (proto !== 59) this.note(A.IpProtocolUnsupported);
    this.payload(p, len);
    return K_DONE;
  }

  private ipTruncatedOrFragment(): boolean {
    return this.ipVersion === 4 ? this.ip4.truncated || this.ip4.isFragment || this.ip4.tsoLength : this.ip6.truncated || this.ip6.isFragment || this.ip6.jumbo;
  }

  /** Folded, complemented sum of pseudo header + segment: 0 when the checksum is right. */
  private l4Sum(b: Uint8Array, proto: number, p: number, len: number): number {
    const ps = this.ipVersion === 4 ? pseudoSum4(this.ip4.src, this.ip4.dst, proto, len) : pseudoSum6(b, this.ip6.srcOffset, this.ip6.dstOffset, proto, len);
    return finish(sumBytes(b, p, len, ps));
  }

  private badChecksum(layer: number, id: number): void {
    if (this.badChecksumLayer === 0) this.badChecksumLayer = layer;
    this.note(id);
  }

  private payload(off: number, len: number): void {
    this.payloadOffset = off;
    this.payloadLength = len > 0 ? len : 0;
    if (len > 0) this.push(Layer.Payload, off, len);
  }

  /** Saves the current (outermost) IP/UDP as the tunnel carrier before decoding inner layers. */
  private keepOuter(): void {
    this.outerIpVersion = this.ipVersion;
    if (this.ipVersion === 4) this.outerIp4.copyFrom(this.ip4);
    else if (this.ipVersion === 6) this.outerIp6.copyFrom(this.ip6);
    this.outerUdp.copyFrom(this.udp);
  }

  private enterTunnel(type: number, vni: number): void {
    if (this.outerTunnelType === 0) this.outerTunnelType = type;
    this.tunnelType = type;
    this.vni = vni;
    // The inner packet starts afresh: nothing innermost is known yet.
    this.ipVersion = 0;
    this.transport = -1;
    this.tcpOk = false;
    this.udpOk = false;
    this.icmpOk = false;
    this.vlanCount = 0;
    this.payloadOffset = this.frameOffset + this.frameLength;
    this.payloadLength = 0;
  }

  private layerLimit(): Status {
    this.note(A.LayerLimitExceeded);
    return this.fail(Layer.Frame, Status.Unsupported, R_LAYERS);
  }

  private layerLimitKind(): number {
    this.layerLimit();
    return -1;
  }

  /** True when any GENEVE option of the given class was present in the outermost GENEVE header. */
  hasGeneveOptionClass(cls: number = GWLB_OPTION_CLASS): boolean {
    if (!this.hasGeneve) return false;
    for (let i = 0; i < this.geneve.optionCount; i++) if (this.geneve.optionClass(i) === cls) return true;
    return false;
  }
}
