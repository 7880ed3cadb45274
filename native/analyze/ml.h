/*
 * mirrorlens native analysis (the first pass of a targeted analysis, and the ALB log quick scan):
 * what the parts of the mirrorlens_analyze addon share. Each part registers its N-API functions
 * from addon.c's init; the JavaScript loader is src/capture/native-analyze.ts, which refuses an
 * addon not built from these exact sources (MIRRORLENS_ANALYZE_HASH, scripts/native-hash.mjs).
 *
 * Every function here is a faster path for JavaScript that exists and stays the reference: when
 * the C side meets anything it does not handle exactly as the JavaScript does, it says so and the
 * JavaScript runs instead (differential tests hold the two together).
 */
#ifndef MIRRORLENS_ML_H
#define MIRRORLENS_ML_H

#include <stdint.h>
#include <stddef.h>
#include <node_api.h>

/*
 * One TCP packet as the survey reads it: the fields of src/flow/segment.ts's TcpSegment that the
 * survey uses, plus where the packet is (its number in the window, its input and byte offset) and
 * its capture point (an id the reader interns; the JavaScript side maps ids to names).
 * Filled by read.c, consumed by survey.c; valid only during the call that hands it over.
 */
typedef struct ml_segment {
  double time;             /* rec.time: seconds since the epoch, exactly as the JavaScript reader computes it */
  int64_t packet;          /* 0-based number among the packets in the window (beforeDecode's n) */
  int64_t byte_offset;     /* rec.byteOffset: where the packet's block starts in its file */
  int32_t input;           /* 0-based input number */
  int32_t point;           /* capture point id (0: '' the plain capture) */
  int32_t ip_version;      /* 4 or 6 */
  uint32_t src4, dst4;     /* IPv4, host order as ipv4 numbers in the JavaScript (ip.src) */
  uint8_t src6[16], dst6[16];
  uint32_t ip_id;          /* IPv4 id, 0 for IPv6 */
  uint32_t ip_length;
  uint32_t src_port, dst_port;
  uint32_t seq, ack;
  uint32_t flags;          /* TCP flags byte (and NS) as t.flags */
  uint32_t window;
  uint32_t checksum;
  int32_t mss, window_scale;
  int32_t sack_permitted;
  double ts_val;           /* -1: no timestamps option */
  const uint8_t *payload;  /* captured payload bytes */
  uint32_t captured_payload;
  uint32_t payload_length; /* as sent (more than captured when the snap length cut it) */
} ml_segment;

/* Registration of each part's functions on the addon's exports (0 on success). */
int ml_register_read(napi_env env, napi_value exports);
int ml_register_survey(napi_env env, napi_value exports);
int ml_register_albscan(napi_env env, napi_value exports);

/* Sets exports[name] = fn; 0 on success. */
int ml_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* *out = o[name] when it is a number; 0 on success, -1 when it is absent or not a number. */
int ml_get_double(napi_env env, napi_value o, const char *name, double *out);

#endif
