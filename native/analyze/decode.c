/*
 * The packet decoder of the native first pass (decode.h): src/wire/packet.ts PacketDecoder.decode
 * with its default options (no checksum validation, maxDepth 4, VXLAN on UDP 4789 and 8472,
 * GENEVE on 6081), step by step, and each header's check() from src/wire/ (link.ts, ipv4.ts,
 * ipv6.ts, tcp.ts, udp.ts, icmp.ts, vxlan.ts, geneve.ts) reduced to the fields the first pass
 * reads. The JavaScript is the reference: a change there is a change here (the differential test
 * test/capture/native-read.test.ts and the fuzz target native-read hold them together).
 *
 * Every read is bounded by the length its header check validated first; nothing here allocates.
 */
#include <string.h>
#include "decode.h"

#define MAX_LAYERS 32
#define MAX_DEPTH 4
#define MAX_IPV6_EXT 16

enum { K_DONE, K_ETH, K_ETHERTYPE, K_IP4, K_IP6, K_IP_ANY, K_TRANSPORT, K_VXLAN, K_GENEVE, K_FAIL };

static inline uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

/* push(): false (and the decoder gives up, layer_limit) when MAX_LAYERS layers are kept already. */
static int push(ml_decoded *d, int *layers) {
  if (*layers >= MAX_LAYERS) {
    d->layer_limit = 1;
    d->status = ML_UNSUPPORTED;
    return 0;
  }
  (*layers)++;
  return 1;
}

static void payload(ml_decoded *d, int64_t off, int64_t len) {
  d->payload_off = off;
  d->payload_len = len > 0 ? len : 0;
}

/* Ipv4View.check */
static int ip4_check(ml_ip4 *ip, const uint8_t *b, int64_t off, int64_t len) {
  if (len < 20) return ML_TRUNCATED;
  const uint8_t *h = b + off;
  if ((h[0] >> 4) != 4) return ML_MALFORMED;
  int32_t hl = (h[0] & 0x0f) * 4;
  ip->header_length = hl;
  if (hl < 20) return ML_MALFORMED;
  if (len < hl) return ML_TRUNCATED;
  uint32_t total = be16(h + 2);
  ip->id = be16(h + 4);
  uint32_t ff = be16(h + 6);
  ip->fragment_offset = (int32_t)(ff & 0x1fff) * 8;
  ip->is_fragment = (ff & 0x2000) != 0 || ip->fragment_offset != 0;
  ip->protocol = h[9];
  ip->src = be32(h + 12);
  ip->dst = be32(h + 16);
  int64_t end;
  if (total == 0) end = len;
  else {
    if (total < (uint32_t)hl) return ML_MALFORMED;
    end = (int64_t)total > len ? len : (int64_t)total;
  }
  ip->upper_off = off + hl;
  ip->upper_len = end - hl;
  ip->declared_upper = total == 0 ? end - hl : (int64_t)total - hl;
  return ML_OK;
}

/* Ipv6View.extEnds: an extension header that does not fit, cut by the capture or by the declared length. */
static int ext_ends(int64_t need, int64_t end, int64_t declared_end) {
  return need > declared_end && end == declared_end ? ML_MALFORMED : ML_TRUNCATED;
}

/* Ipv6View.findJumbo over the Hop-by-Hop options b[p, end): the Jumbo Payload end offset, 0 if none. */
static int64_t find_jumbo(const uint8_t *b, int64_t p, int64_t end) {
  while (p < end) {
    uint8_t t = b[p];
    if (t == 0) {
      p++;
      continue;
    }
    if (p + 1 >= end) return 0;
    uint8_t l = b[p + 1];
    if (t == 0xc2 && l == 4 && p + 6 <= end) return (int64_t)be32(b + p + 2) + 40;
    p += 2 + l;
  }
  return 0;
}

/* Ipv6View.check */
static int ip6_check(ml_ip6 *ip, const uint8_t *b, int64_t off, int64_t len) {
  ip->is_fragment = 0;
  ip->fragment_offset = 0;
  ip->src_off = off + 8;
  ip->dst_off = off + 24;
  if (len < 40) return ML_TRUNCATED;
  const uint8_t *h = b + off;
  if ((h[0] >> 4) != 6) return ML_MALFORMED;
  uint32_t pl = be16(h + 4);
  int jumbo = pl == 0;
  int64_t jumbo_end = 0;
  int64_t declared_end = jumbo ? len : 40 + (int64_t)pl;
  int64_t end = declared_end > len ? len : declared_end;
  int nh = h[6];
  int64_t p = 40;
  int count = 0;
  for (;;) {
    int64_t ext;
    if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140) {
      if (p + 2 > end) return ext_ends(p, end, declared_end);
      ext = ((int64_t)h[p + 1] + 1) * 8;
      if (nh == 0 && jumbo && p + ext <= end) {
        int64_t j = find_jumbo(h, p + 2, p + ext);
        if (j != 0) jumbo_end = j;
      }
    } else if (nh == 44) {
      ext = 8;
      if (p + 8 > end) return ext_ends(p, end, declared_end);
      uint32_t fo = be16(h + p + 2);
      ip->is_fragment = 1;
      ip->fragment_offset = (int32_t)(fo & 0xfff8);
    } else if (nh == 51) {
      if (p + 2 > end) return ext_ends(p, end, declared_end);
      ext = ((int64_t)h[p + 1] + 2) * 4;
    } else break;
    if (count >= MAX_IPV6_EXT) return ML_MALFORMED;
    if (p + ext > end) return ext_ends(p + ext, end, declared_end);
    count++;
    nh = h[p];
    p += ext;
  }
  ip->next_header = nh;
  ip->header_length = (int32_t)p;
  ip->upper_off = off + p;
  ip->upper_len = end - p;
  ip->declared_upper = (jumbo_end > 0 ? jumbo_end : declared_end) - p;
  if (ip->declared_upper < 0) ip->declared_upper = 0;
  return ML_OK;
}

/* TcpView.check with its option walk (MSS, window scale, SACK-permitted, timestamps). */
static int tcp_check(ml_tcp *t, const uint8_t *b, int64_t off, int64_t len) {
  t->mss = -1;
  t->window_scale = -1;
  t->sack_permitted = 0;
  t->has_ts = 0;
  t->ts_val = 0;
  if (len < 20) return ML_TRUNCATED;
  const uint8_t *h = b + off;
  t->src_port = be16(h);
  t->dst_port = be16(h + 2);
  t->seq = be32(h + 4);
  t->ack = be32(h + 8);
  t->header_length = (h[12] >> 4) * 4;
  t->flags = h[13];
  t->window = be16(h + 14);
  t->checksum = be16(h + 16);
  if (t->header_length < 20) return ML_MALFORMED;
  if (len < t->header_length) return ML_TRUNCATED;
  int64_t p = 20, end = t->header_length;
  while (p < end) {
    uint8_t kind = h[p];
    if (kind == 0) break;
    if (kind == 1) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    uint8_t l = h[p + 1];
    if (l < 2 || p + l > end) break;
    if (kind == 2 && l == 4) t->mss = (int32_t)be16(h + p + 2);
    else if (kind == 3 && l == 3) t->window_scale = h[p + 2];
    else if (kind == 4 && l == 2) t->sack_permitted = 1;
    else if (kind == 8 && l == 10) {
      t->has_ts = 1;
      t->ts_val = be32(h + p + 2);
    }
    /* (SACK blocks and other options: not read by the first pass) */
    p += l;
  }
  return ML_OK;
}

static void enter_tunnel(ml_decoded *d, int type, int32_t vni, int64_t frame_len) {
  d->tunnel_type = type;
  d->vni = vni;
  d->ip_version = 0;
  d->transport = -1;
  d->tcp_ok = d->udp_ok = d->icmp_ok = 0;
  d->payload_off = frame_len;
  d->payload_len = 0;
}

/* PacketDecoder.transportLayer: the next kind, or K_FAIL with d->status set. */
static int transport(ml_decoded *d, int *layers, const uint8_t *b, int proto, int64_t p, int64_t end, int64_t *udp_pay, int64_t *udp_pay_len) {
  int64_t len = end - p;
  if (proto == 6) {
    int st = tcp_check(&d->tcp, b, p, len);
    if (st != ML_OK) {
      d->status = st;
      return K_FAIL;
    }
    d->tcp_ok = 1;
    d->udp_ok = d->icmp_ok = 0;
    if (!push(d, layers)) return K_FAIL;
    payload(d, p + d->tcp.header_length, len - d->tcp.header_length);
    return K_DONE;
  }
  if (proto == 17) {
    if (len < 8) {
      d->status = ML_TRUNCATED;
      return K_FAIL;
    }
    uint32_t sp = be16(b + p), dp = be16(b + p + 2), l = be16(b + p + 4);
    int64_t plen;
    if (l == 0) plen = len - 8;
    else if (l < 8) {
      d->status = ML_MALFORMED;
      return K_FAIL;
    } else plen = (int64_t)l > len ? len - 8 : (int64_t)l - 8;
    d->udp_ok = 1;
    d->tcp_ok = d->icmp_ok = 0;
    if (!push(d, layers)) return K_FAIL;
    *udp_pay = p + 8;
    *udp_pay_len = plen;
    /* portTable[dst] || portTable[src]: VXLAN 4789, 8472; GENEVE 6081 */
    int k = dp == 4789 || dp == 8472 ? K_VXLAN : dp == 6081 ? K_GENEVE : sp == 4789 || sp == 8472 ? K_VXLAN : sp == 6081 ? K_GENEVE : K_DONE;
    if (k != K_DONE) return k;
    payload(d, p + 8, plen);
    return K_DONE;
  }
  if (proto == 1 || proto == 58) {
    int v6 = proto == 58;
    if (v6 != (d->ip_version == 6)) {
      payload(d, p, len);
      return K_DONE;
    }
    if (len < 8) {
      d->status = ML_TRUNCATED;
      return K_FAIL;
    }
    int t = b[p];
    d->icmp_type = t;
    d->icmp_is_error = v6 ? t >= 1 && t <= 4 : t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
    d->icmp_ok = 1;
    d->tcp_ok = d->udp_ok = 0;
    if (!push(d, layers)) return K_FAIL;
    payload(d, p + 8, len - 8);
    return K_DONE;
  }
  if (proto == 4) return K_IP4;
  if (proto == 41) return K_IP6;
  payload(d, p, len);
  return K_DONE;
}

int ml_decode(ml_decoded *d, int link_type, const uint8_t *b, int64_t len) {
  d->status = ML_OK;
  d->layer_limit = 0;
  d->ip_version = 0;
  d->transport = -1;
  d->tcp_ok = d->udp_ok = d->icmp_ok = 0;
  d->icmp_type = -1;
  d->icmp_is_error = 0;
  d->tunnel_depth = 0;
  d->tunnel_type = 0;
  d->vni = -1;
  d->payload_off = len;
  d->payload_len = 0;
  int layers = 0;
  int64_t p = 0, end = len;
  uint32_t et = 0;
  int kind;
  switch (link_type) {
    case 1:
      kind = K_ETH;
      break;
    case 0:
    case 108: {
      if (end - p < 4) return d->status = ML_TRUNCATED;
      uint32_t be = be32(b), le = ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | b[0];
      uint32_t f = link_type == 108 ? be : le <= 0xffff ? le : be;
      layers++;
      p += 4;
      if (f == 2) kind = K_IP4;
      else if (f == 10 || f == 24 || f == 28 || f == 30) kind = K_IP6;
      else return d->status = ML_UNSUPPORTED;
      break;
    }
    case 101:
    case 12:
    case 14:
      kind = K_IP_ANY;
      break;
    case 228:
      kind = K_IP4;
      break;
    case 229:
      kind = K_IP6;
      break;
    case 113:
      if (end - p < 16) return d->status = ML_TRUNCATED;
      layers++;
      et = be16(b + 14);
      p += 16;
      kind = K_ETHERTYPE;
      break;
    case 276:
      if (end - p < 20) return d->status = ML_TRUNCATED;
      layers++;
      et = be16(b);
      p += 20;
      kind = K_ETHERTYPE;
      break;
    default:
      return d->status = ML_UNSUPPORTED;
  }

  int proto = -1;
  int64_t up = 0, uplen = 0; /* the last UDP payload (a tunnel's inner bytes) */
  while (kind != K_DONE) {
    switch (kind) {
      case K_ETH:
        if (end - p < 14) return d->status = ML_TRUNCATED;
        if (!push(d, &layers)) return d->status;
        et = be16(b + p + 12);
        p += 14;
        kind = K_ETHERTYPE;
        break;
      case K_ETHERTYPE:
        if (et == 0x8100 || et == 0x88a8 || et == 0x9100 || et == 0x9200) {
          if (end - p < 4) return d->status = ML_TRUNCATED;
          if (!push(d, &layers)) return d->status;
          et = be16(b + p + 2);
          p += 4;
        } else if (et == 0x0800) kind = K_IP4;
        else if (et == 0x86dd) kind = K_IP6;
        else {
          payload(d, p, end - p);
          return d->status = ML_UNSUPPORTED;
        }
        break;
      case K_IP_ANY: {
        if (p >= end) return d->status = ML_TRUNCATED;
        int v = b[p] >> 4;
        if (v == 4) kind = K_IP4;
        else if (v == 6) kind = K_IP6;
        else return d->status = ML_MALFORMED;
        break;
      }
      case K_IP4: {
        /* IP-in-IP: the inner header is checked aside and becomes the innermost only once it decodes */
        ml_ip4 ip;
        int st = ip4_check(&ip, b, p, end - p);
        if (st != ML_OK) return d->status = st;
        d->ip4 = ip;
        if (!push(d, &layers)) return d->status;
        d->ip_version = 4;
        proto = ip.protocol;
        d->transport = proto;
        p = ip.upper_off;
        end = p + ip.upper_len;
        if (ip.is_fragment && ip.fragment_offset != 0) {
          payload(d, p, end - p);
          return d->status;
        }
        kind = K_TRANSPORT;
        break;
      }
      case K_IP6: {
        ml_ip6 ip;
        int st = ip6_check(&ip, b, p, end - p);
        if (st != ML_OK) return d->status = st;
        d->ip6 = ip;
        if (!push(d, &layers)) return d->status;
        d->ip_version = 6;
        proto = ip.next_header;
        d->transport = proto;
        p = ip.upper_off;
        end = p + ip.upper_len;
        if (ip.is_fragment && ip.fragment_offset != 0) {
          payload(d, p, end - p);
          return d->status;
        }
        kind = K_TRANSPORT;
        break;
      }
      case K_TRANSPORT:
        kind = transport(d, &layers, b, proto, p, end, &up, &uplen);
        if (kind == K_FAIL) return d->status;
        if (kind == K_VXLAN || kind == K_GENEVE) {
          if (d->tunnel_depth >= MAX_DEPTH) return d->status = ML_UNSUPPORTED;
          d->tunnel_depth++;
          p = up;
          end = p + uplen;
        }
        break;
      case K_VXLAN:
        if (end - p < 8) return d->status = ML_TRUNCATED;
        if (!push(d, &layers)) return d->status;
        enter_tunnel(d, ML_TUN_VXLAN, (int32_t)((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]), len);
        p += 8;
        kind = K_ETH;
        break;
      case K_GENEVE: {
        /* GeneveView.check: version 0 only, options walked (each within the options length) */
        int64_t glen = end - p;
        if (glen < 8) return d->status = ML_TRUNCATED;
        const uint8_t *g = b + p;
        int version = g[0] >> 6;
        int64_t hl = 8 + (int64_t)(g[0] & 0x3f) * 4;
        if (version != 0) return d->status = ML_UNSUPPORTED;
        if (glen < hl) return d->status = ML_TRUNCATED;
        for (int64_t q = 8; q < hl;) {
          if (q + 4 > hl) return d->status = ML_MALFORMED;
          int64_t dlen = (int64_t)(g[q + 3] & 0x1f) * 4;
          if (q + 4 + dlen > hl) return d->status = ML_MALFORMED;
          q += 4 + dlen;
        }
        if (!push(d, &layers)) return d->status;
        uint32_t pt = be16(g + 2);
        enter_tunnel(d, ML_TUN_GENEVE, (int32_t)((g[4] << 16) | (g[5] << 8) | g[6]), len);
        p += hl;
        if (pt == 0x6558) kind = K_ETH;
        else if (pt == 0x0800) kind = K_IP4;
        else if (pt == 0x86dd) kind = K_IP6;
        else {
          payload(d, p, end - p);
          return d->status = ML_UNSUPPORTED;
        }
        break;
      }
      default:
        kind = K_DONE;
    }
  }
  return d->status;
}
