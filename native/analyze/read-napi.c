/*
 * The native reader's JavaScript side (read.h): ml_read_result_js, the result's side outputs as
 * one object (src/capture/native-read.ts turns it into CaptureSummary[] and the rest), and
 * `readSegments(paths, { since, until })`, the test function of the differential test
 * (test/capture/native-read.test.ts): every segment's fields in typed arrays, with an FNV-1a hash
 * of each payload.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "read.h"

#define OK(call) \
  do { \
    if ((call) != napi_ok) return NULL; \
  } while (0)

static napi_value num(napi_env env, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok ? x : NULL;
}

/* A double, or null when NAN. */
static napi_value num_or_null(napi_env env, double v) {
  napi_value x;
  if (isnan(v)) return napi_get_null(env, &x) == napi_ok ? x : NULL;
  return num(env, v);
}

static int set(napi_env env, napi_value o, const char *k, napi_value v) { return v != NULL && napi_set_named_property(env, o, k, v) == napi_ok ? 0 : -1; }

/* A Buffer copy of bytes. */
static napi_value bytes(napi_env env, const uint8_t *b, size_t n) {
  napi_value x;
  void *data;
  return napi_create_buffer_copy(env, n, n ? (const void *)b : (const void *)"", &data, &x) == napi_ok ? x : NULL;
}

/* A string option of an interface: [offset in text, length] pair as a Buffer, or null. */
static napi_value text_or_null(napi_env env, const ml_read_result *r, int64_t off, uint32_t len) {
  napi_value x;
  if (off < 0) return napi_get_null(env, &x) == napi_ok ? x : NULL;
  return bytes(env, r->text + off, len);
}

static napi_value iface_js(napi_env env, const ml_read_result *r, const ml_read_iface *i) {
  napi_value o;
  OK(napi_create_object(env, &o));
  if (set(env, o, "section", num(env, i->section)) || set(env, o, "sectionInterfaceId", num(env, i->section_interface_id)) ||
      set(env, o, "linkType", num(env, i->link_type)) || set(env, o, "snaplen", num(env, i->snaplen)) || set(env, o, "tsresol", num(env, i->tsresol)) ||
      set(env, o, "tsOffsetSec", num(env, i->ts_offset_sec)) || set(env, o, "fcsLength", i->fcs_length < 0 ? num_or_null(env, NAN) : num(env, i->fcs_length)) ||
      set(env, o, "speedBps", i->speed_bps < 0 ? num_or_null(env, NAN) : num(env, i->speed_bps)) ||
      set(env, o, "name", text_or_null(env, r, i->name_off, i->name_len)) || set(env, o, "description", text_or_null(env, r, i->description_off, i->description_len)) ||
      set(env, o, "os", text_or_null(env, r, i->os_off, i->os_len)) || set(env, o, "hardware", text_or_null(env, r, i->hardware_off, i->hardware_len)) ||
      set(env, o, "comment", text_or_null(env, r, i->comment_off, i->comment_len)) || set(env, o, "filter", text_or_null(env, r, i->filter_off, i->filter_len)) ||
      set(env, o, "filterType", num(env, i->filter_type)))
    return NULL;
  return o;
}

napi_value ml_read_result_js(napi_env env, const ml_read_result *r) {
  napi_value o, files, dsbs, icmp, points;
  OK(napi_create_object(env, &o));
  if (set(env, o, "packets", num(env, (double)r->packets)) || set(env, o, "outsideWindow", num(env, (double)r->outside_window)) ||
      set(env, o, "decoded", num(env, (double)r->decoded)) || set(env, o, "truncated", num(env, (double)r->truncated)) ||
      set(env, o, "malformed", num(env, (double)r->malformed)) || set(env, o, "unsupported", num(env, (double)r->unsupported)) ||
      set(env, o, "segments", num(env, (double)r->segments)) || set(env, o, "nonTcp", num(env, (double)r->non_tcp)) ||
      set(env, o, "skipped", num(env, (double)r->skipped)) || set(env, o, "firstTime", num_or_null(env, r->first_time)) ||
      set(env, o, "lastTime", num_or_null(env, r->last_time)))
    return NULL;
  OK(napi_create_array_with_length(env, (size_t)r->n_files, &files));
  for (int i = 0; i < r->n_files; i++) {
    const ml_read_file *f = &r->files[i];
    napi_value fo, ifs;
    OK(napi_create_object(env, &fo));
    OK(napi_create_array_with_length(env, (size_t)f->iface_count, &ifs));
    for (int j = 0; j < f->iface_count; j++) {
      napi_value x = iface_js(env, r, &r->ifaces[f->iface_first + j]);
      if (x == NULL) return NULL;
      OK(napi_set_element(env, ifs, (uint32_t)j, x));
    }
    napi_value fmt;
    OK(napi_create_string_utf8(env, f->pcapng ? "pcapng" : "pcap", NAPI_AUTO_LENGTH, &fmt));
    if (set(env, fo, "format", fmt) || set(env, fo, "packets", num(env, (double)f->packets)) || set(env, fo, "bytes", num(env, (double)f->bytes)) ||
        set(env, fo, "secretsBlocks", num(env, (double)f->secrets_blocks)) || set(env, fo, "firstTime", num_or_null(env, f->first_time)) ||
        set(env, fo, "lastTime", num_or_null(env, f->last_time)) || set(env, fo, "interfaces", ifs))
      return NULL;
    OK(napi_set_element(env, files, (uint32_t)i, fo));
  }
  OK(napi_create_array_with_length(env, (size_t)r->n_dsbs, &dsbs));
  for (int i = 0; i < r->n_dsbs; i++) {
    const ml_read_dsb *d = &r->dsbs[i];
    napi_value x;
    OK(napi_create_object(env, &x));
    if (set(env, x, "type", num(env, d->type)) || set(env, x, "input", num(env, d->input)) || set(env, x, "data", bytes(env, r->blob + d->off, d->len))) return NULL;
    OK(napi_set_element(env, dsbs, (uint32_t)i, x));
  }
  OK(napi_create_array_with_length(env, (size_t)r->n_icmp, &icmp));
  for (int i = 0; i < r->n_icmp; i++) {
    const ml_read_packet *k = &r->icmp[i];
    napi_value x;
    OK(napi_create_object(env, &x));
    if (set(env, x, "packet", num(env, (double)k->packet)) || set(env, x, "byteOffset", num(env, (double)k->byte_offset)) ||
        set(env, x, "input", num(env, k->input)) || set(env, x, "linkType", num(env, k->link_type)) || set(env, x, "point", num(env, k->point)) ||
        set(env, x, "time", num(env, k->time)) || set(env, x, "data", bytes(env, r->blob + k->off, k->len)))
      return NULL;
    OK(napi_set_element(env, icmp, (uint32_t)i, x));
  }
  OK(napi_create_array_with_length(env, (size_t)r->n_points, &points));
  for (int i = 0; i < r->n_points; i++) {
    napi_value s;
    OK(napi_create_string_utf8(env, (const char *)r->text + r->points[i].off, r->points[i].len, &s));
    OK(napi_set_element(env, points, (uint32_t)i, s));
  }
  if (set(env, o, "files", files) || set(env, o, "dsbs", dsbs) || set(env, o, "icmp", icmp) || set(env, o, "points", points)) return NULL;
  return o;
}

/* ---------------------------------------------------------------- readSegments (tests) */

/* Column i of the collected segments: name, element size, typed array type. */
#define NCOLS 25
static const struct {
  const char *name;
  int size;
  napi_typedarray_type type;
} COLS[NCOLS] = {
    {"time", 8, napi_float64_array},    {"packet", 8, napi_float64_array},  {"byteOffset", 8, napi_float64_array}, {"input", 4, napi_int32_array},
    {"point", 4, napi_int32_array},     {"ipVersion", 4, napi_int32_array}, {"src4", 4, napi_uint32_array},       {"dst4", 4, napi_uint32_array},
    {"src6", 16, napi_uint8_array},     {"dst6", 16, napi_uint8_array},     {"ipId", 4, napi_uint32_array},       {"ipLength", 4, napi_uint32_array},
    {"srcPort", 4, napi_uint32_array},  {"dstPort", 4, napi_uint32_array},  {"seq", 4, napi_uint32_array},        {"ack", 4, napi_uint32_array},
    {"flags", 4, napi_uint32_array},    {"window", 4, napi_uint32_array},   {"checksum", 4, napi_uint32_array},   {"mss", 4, napi_int32_array},
    {"windowScale", 4, napi_int32_array}, {"sackPermitted", 4, napi_int32_array}, {"tsVal", 8, napi_float64_array}, {"capturedPayload", 4, napi_uint32_array},
    {"payloadLength", 4, napi_uint32_array},
};

typedef struct collect {
  size_t n, cap;
  uint8_t *col[NCOLS + 1]; /* + the payload hashes */
  int oom;
} collect;

static uint32_t fnv1a(const uint8_t *b, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}

static int on_segment(void *ctx, const ml_segment *s) {
  collect *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 4096;
    for (int i = 0; i <= NCOLS; i++) {
      void *q = realloc(c->col[i], cap * (size_t)(i < NCOLS ? COLS[i].size : 4));
      if (q == NULL) return c->oom = 1;
      c->col[i] = q;
    }
    c->cap = cap;
  }
  size_t n = c->n++;
#define PUT(i, v, T) \
  do { \
    T tmp_ = (v); \
    memcpy(c->col[i] + n * sizeof(T), &tmp_, sizeof(T)); \
  } while (0)
  PUT(0, s->time, double);
  PUT(1, (double)s->packet, double);
  PUT(2, (double)s->byte_offset, double);
  PUT(3, s->input, int32_t);
  PUT(4, s->point, int32_t);
  PUT(5, s->ip_version, int32_t);
  PUT(6, s->src4, uint32_t);
  PUT(7, s->dst4, uint32_t);
  memcpy(c->col[8] + n * 16, s->src6, 16);
  memcpy(c->col[9] + n * 16, s->dst6, 16);
  PUT(10, s->ip_id, uint32_t);
  PUT(11, s->ip_length, uint32_t);
  PUT(12, s->src_port, uint32_t);
  PUT(13, s->dst_port, uint32_t);
  PUT(14, s->seq, uint32_t);
  PUT(15, s->ack, uint32_t);
  PUT(16, s->flags, uint32_t);
  PUT(17, s->window, uint32_t);
  PUT(18, s->checksum, uint32_t);
  PUT(19, s->mss, int32_t);
  PUT(20, s->window_scale, int32_t);
  PUT(21, s->sack_permitted, int32_t);
  PUT(22, s->ts_val, double);
  PUT(23, s->captured_payload, uint32_t);
  PUT(24, s->payload_length, uint32_t);
  PUT(25, fnv1a(s->payload, s->captured_payload), uint32_t);
#undef PUT
  return 0;
}

static napi_value column(napi_env env, const collect *c, int i) {
  int size = i < NCOLS ? COLS[i].size : 4;
  napi_typedarray_type type = i < NCOLS ? COLS[i].type : napi_uint32_array;
  size_t bytes_n = c->n * (size_t)size;
  void *data;
  napi_value ab, ta;
  OK(napi_create_arraybuffer(env, bytes_n, &data, &ab));
  if (bytes_n > 0) memcpy(data, c->col[i], bytes_n);
  size_t elems = type == napi_uint8_array ? bytes_n : c->n;
  OK(napi_create_typedarray(env, type, elems, ab, 0, &ta));
  return ta;
}

static double opt_number(napi_env env, napi_value o, const char *k, double dflt) {
  double d;
  return ml_get_double(env, o, k, &d) == 0 ? d : dflt;
}

/* readSegments(paths: string[], opts?: { since?: number, until?: number, collect?: 0 | 1 }): collect 0 counts the
 * segments only (for benchmarks: the reading and decoding alone) */
static napi_value read_segments(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "readSegments(paths, opts): paths must be an array of strings");
    return NULL;
  }
  uint32_t n;
  OK(napi_get_array_length(env, argv[0], &n));
  char **paths = calloc(n ? n : 1, sizeof *paths);
  ml_read_opts o = {-INFINITY, INFINITY};
  napi_valuetype t;
  int collect_segments = 1;
  if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_object) {
    o.since = opt_number(env, argv[1], "since", -INFINITY);
    o.until = opt_number(env, argv[1], "until", INFINITY);
    collect_segments = opt_number(env, argv[1], "collect", 1) != 0;
  }
  napi_value ret = NULL;
  int bad = paths == NULL;
  for (uint32_t i = 0; i < n && !bad; i++) {
    napi_value v;
    size_t len;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
      bad = 1;
      break;
    }
    paths[i] = malloc(len + 1);
    if (paths[i] == NULL || napi_get_value_string_utf8(env, v, paths[i], len + 1, &len) != napi_ok) bad = 1;
  }
  if (bad) {
    napi_throw_type_error(env, NULL, "readSegments(paths, opts): paths must be an array of strings");
  } else {
    collect c;
    memset(&c, 0, sizeof c);
    ml_read_sink sink = {&c, collect_segments ? on_segment : NULL};
    ml_read_result r;
    memset(&r, 0, sizeof r);
    char why[256];
    int st = ml_read_inputs((const char *const *)paths, (int)n, &o, &sink, &r, why, sizeof why);
    napi_value obj, s, seg;
    if (c.oom) napi_throw_error(env, NULL, "readSegments: out of memory");
    else if (napi_create_object(env, &obj) == napi_ok && napi_create_object(env, &seg) == napi_ok) {
      const char *status = st == ML_READ_OK ? "ok" : st == ML_READ_DECLINED ? "declined" : "stopped";
      int fail = napi_create_string_utf8(env, status, NAPI_AUTO_LENGTH, &s) != napi_ok || set(env, obj, "status", s);
      if (!fail) fail = napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &s) != napi_ok || set(env, obj, "why", s);
      for (int i = 0; i <= NCOLS && !fail; i++) fail = set(env, seg, i < NCOLS ? COLS[i].name : "payloadHash", column(env, &c, i));
      if (!fail) fail = set(env, obj, "segments", seg) || set(env, obj, "result", ml_read_result_js(env, &r));
      if (!fail) ret = obj;
    }
    for (int i = 0; i <= NCOLS; i++) free(c.col[i]);
    ml_read_result_free(&r);
  }
  for (uint32_t i = 0; paths != NULL && i < n; i++) free(paths[i]);
  free(paths);
  return ret;
}

int ml_register_read(napi_env env, napi_value exports) { return ml_export(env, exports, "readSegments", read_segments); }
