/*
 * The native capture reader and packet decoder of a targeted analysis's first pass: reads pcap and
 * pcapng files in order (as src/flow/pipeline.ts processCaptures does, through
 * src/capture/parser.ts and src/wire/packet.ts), and hands every TCP packet the survey tracks
 * (src/flow/segment.ts segmentOf gives SEGMENT_OK) to a sink as one ml_segment, in order.
 *
 * Conservative: whatever the JavaScript would do differently or say something about (a capture
 * warning, gzip, not a regular file, a layer limit, a time it computes inexactly...) makes
 * ml_read_inputs return ML_READ_DECLINED with a one-line reason; the caller then runs the
 * JavaScript pass for the whole input (hostile input keeps its tested JavaScript messages).
 *
 * No N-API here except ml_read_result_js (for the driver and the test function): the reader runs
 * on any thread.
 */
#ifndef MIRRORLENS_READ_H
#define MIRRORLENS_READ_H

#include "ml.h"

/* ml_read_inputs results */
#define ML_READ_OK 0
#define ML_READ_DECLINED 1 /* why says why; run the JavaScript pass */
#define ML_READ_STOPPED 2  /* the sink returned non-zero: nothing more was read */

typedef struct ml_read_opts {
  double since; /* the window (processCaptures' opts.window): -INFINITY / INFINITY when open */
  double until;
} ml_read_opts;

/* Receives the segments in order; a non-zero return stops the reading (ML_READ_STOPPED). */
typedef struct ml_read_sink {
  void *ctx;
  int (*segment)(void *ctx, const ml_segment *s);
} ml_read_sink;

/* One interface description of a file (CaptureSummary.interfaces, InterfaceInfo). Strings are
 * byte ranges in the result's `text` arena (off -1: absent); JavaScript decodes them as UTF-8 as
 * the parser does (TextDecoder, fatal: false). */
typedef struct ml_read_iface {
  int32_t section, section_interface_id, link_type;
  uint32_t snaplen;
  int32_t tsresol;       /* the raw if_tsresol byte */
  double ts_offset_sec;  /* if_tsoffset as the parser computes it */
  int32_t fcs_length;    /* -1: null */
  double speed_bps;      /* -1: null */
  int64_t name_off, description_off, os_off, hardware_off, comment_off, filter_off;
  uint32_t name_len, description_len, os_len, hardware_len, comment_len, filter_len;
  int32_t filter_type;   /* first byte of if_filter (0: a libpcap string, the rest is text) */
} ml_read_iface;

/* One input's summary (CaptureSummary; warnings 0, truncated and gzip false, else declined) and
 * its times (PipelineSummary.fileTimes). */
typedef struct ml_read_file {
  int32_t pcapng;         /* format: 1 pcapng, 0 pcap */
  int64_t packets;        /* parser.packets: every packet read (outside the window too) */
  int64_t bytes;          /* parser.bytes: consumed (to the end, or the block that stopped it) */
  int64_t secrets_blocks;
  double first_time, last_time; /* NAN: null (no decoded packet) */
  int32_t iface_first, iface_count; /* into ml_read_result.ifaces */
} ml_read_file;

/* A Decryption Secrets Block, in file order (for keys.addDsb): bytes in the `blob` arena. */
typedef struct ml_read_dsb {
  uint32_t type;
  int32_t input;
  int64_t off;
  uint32_t len;
} ml_read_dsb;

/* A packet JavaScript must see itself: an ICMPv4 error (icmpOk, isError, innermost IPv4) whose
 * icmpErrorEvent may quote TCP. Its frame bytes are copied into `blob`; JavaScript decodes them
 * with PacketDecoder and calls icmpErrorEvent(rec with this time, dec, point name). */
typedef struct ml_read_packet {
  int64_t packet;      /* number in the window (beforeDecode's n) */
  int64_t byte_offset; /* of its block in its input */
  int32_t input;
  int32_t link_type;
  int32_t point;       /* capture point id, as ml_segment.point */
  double time;
  int64_t off;         /* frame bytes in blob */
  uint32_t len;
} ml_read_packet;

/* A capture point id's name: bytes in `text` (UTF-8, checked; distinct ids have distinct names).
 * Id 0 is '' (the plain capture). */
typedef struct ml_read_point {
  int64_t off;
  uint32_t len;
} ml_read_point;

typedef struct ml_read_result {
  int64_t packets;        /* PipelineSummary.packets: all packets read */
  int64_t outside_window;
  int64_t decoded;        /* packets decoded (= the tracker's stats.packets) */
  int64_t truncated, malformed, unsupported; /* decodeProblems */
  int64_t segments;       /* handed to the sink (= tcp packets the survey ingests) */
  int64_t non_tcp;        /* FlowStats.nonTcpPackets */
  int64_t skipped;        /* FlowStats.skippedPackets */
  double first_time;      /* NAN: null */
  double last_time;       /* NAN: null */
  int n_files;
  ml_read_file *files;
  int n_ifaces;
  ml_read_iface *ifaces;
  int n_dsbs;
  ml_read_dsb *dsbs;
  int n_icmp;
  ml_read_packet *icmp;
  int n_points;
  ml_read_point *points;
  uint8_t *text;  size_t text_len, text_cap;   /* interface strings, point names */
  uint8_t *blob;  size_t blob_len, blob_cap;   /* DSB contents, ICMP frames */
  /* (internal capacities) */
  int cap_files, cap_ifaces, cap_dsbs, cap_icmp, cap_points;
} ml_read_result;

/*
 * Reads `paths` in order. Returns ML_READ_OK with `out` filled, ML_READ_DECLINED with a one-line
 * reason in `why` (nothing was handed on that the caller may keep: discard the segments), or
 * ML_READ_STOPPED. `out` must be zeroed before the call and freed with ml_read_result_free after,
 * whatever the return.
 */
int ml_read_inputs(const char *const *paths, int n, const ml_read_opts *o, const ml_read_sink *sink, ml_read_result *out, char *why, size_t whylen);

void ml_read_result_free(ml_read_result *r);

/*
 * The result's side outputs as a JavaScript object (src/capture/native-read.ts reads it):
 * { packets, outsideWindow, decoded, truncated, malformed, unsupported, segments, nonTcp, skipped,
 *   firstTime, lastTime (null when none), files: [{ format, packets, bytes, secretsBlocks,
 *   firstTime, lastTime, interfaces: [...] }], dsbs: [{ type, input, data }],
 *   icmp: [{ packet, byteOffset, input, linkType, point, time, data }], points: [names] }.
 * NULL (with a pending exception) on failure.
 */
napi_value ml_read_result_js(napi_env env, const ml_read_result *r);

#endif
