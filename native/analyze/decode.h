/*
 * The packet decoder of the native first pass: src/wire/packet.ts's PacketDecoder.decode, reduced
 * to what the first pass reads of a packet (its status, the innermost IP and TCP, the ICMP type,
 * the tunnel and its VNI), with the same status for every input (decode.c says how each layer
 * mirrors its view in src/wire/). Offsets are relative to the frame's first byte.
 */
#ifndef MIRRORLENS_DECODE_H
#define MIRRORLENS_DECODE_H

#include <stdint.h>
#include <stddef.h>

/* Status (src/wire/status.ts) */
#define ML_OK 0
#define ML_TRUNCATED 1
#define ML_MALFORMED 2
#define ML_UNSUPPORTED 3

/* Tunnel types (Layer.Vxlan, Layer.Geneve: only told apart here) */
#define ML_TUN_VXLAN 1
#define ML_TUN_GENEVE 2

typedef struct ml_ip4 {
  uint32_t src, dst, id;
  int32_t header_length, protocol;
  int32_t is_fragment, fragment_offset;
  int64_t upper_off, upper_len, declared_upper;
} ml_ip4;

typedef struct ml_ip6 {
  int64_t src_off, dst_off;
  int32_t header_length, next_header;
  int32_t is_fragment, fragment_offset;
  int64_t upper_off, upper_len, declared_upper;
} ml_ip6;

typedef struct ml_tcp {
  uint32_t src_port, dst_port, seq, ack, flags, window, checksum;
  int32_t header_length, mss, window_scale, sack_permitted, has_ts;
  uint32_t ts_val;
} ml_tcp;

typedef struct ml_decoded {
  int status;
  /* more layers than PacketDecoder keeps (MAX_LAYERS): its result is not modelled here */
  int layer_limit;
  int ip_version;  /* innermost: 0, 4, 6 */
  int transport;   /* innermost IP protocol, -1 */
  int tcp_ok, udp_ok, icmp_ok;
  int icmp_type, icmp_is_error;
  int tunnel_depth, tunnel_type;
  int32_t vni;     /* innermost; -1 */
  int64_t payload_off, payload_len;
  ml_ip4 ip4;
  ml_ip6 ip6;
  ml_tcp tcp;
} ml_decoded;

/* Decodes b[0, len) of the given link type (default PacketDecoder options); returns d->status. */
int ml_decode(ml_decoded *d, int link_type, const uint8_t *b, int64_t len);

#endif
