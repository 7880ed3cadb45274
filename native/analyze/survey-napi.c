/*
 * The survey's N-API functions (survey.h):
 *
 * - surveySegments(opts, batch): runs the C survey over segments JavaScript decoded itself (its
 *   own reader, PacketDecoder and segmentOf) and returns the rows; what the differential tests
 *   hold against FlowSurvey (test/flow/survey-native.test.ts), before and apart from the C reader.
 *
 *   opts:  { idleTimeout, gapThreshold, maxConnections, dupWindow, linger, perPoint, observeTls,
 *            pointHashes: Int32Array (strHash of each capture point id), lastPacket,
 *            tmpDir (optional): where full chunks of rows are written (survey.h) }
 *   batch: { f64: Float64Array (4 per segment: time, packet, byteOffset, tsVal or -1),
 *            u32: Uint32Array (SEG_U32 per segment, fields SU_*),
 *            addr6: Uint8Array (32 per segment: source then destination IPv6 address),
 *            payload: Uint8Array (captured payloads, each at its SU_PAYLOAD_AT) }
 *
 * The result (ml_survey_result): { rows, fd, spilled, chunks: [{ f: Float64Array, i: Int32Array,
 * uids: Uint8Array }], extra: Float64Array, a6: Int32Array, stats: Float64Array } in survey.h's
 * row layout: chunks 0 .. spilled - 1 (SR_CHUNK_ROWS rows each) in the file `fd` (at k *
 * SR_CHUNK_BYTES, -1: none), which JavaScript then owns and closes; the rest in `chunks`, the
 * last one partly filled; the uids 19 bytes a row (uid.c; a row starting with 0: the JavaScript
 * computes its uid). opts.pointNames (optional): the capture point names by id, for uids in
 * per-point mode.
 */
#include <stdlib.h>
#include <string.h>
#include "survey.h"
#include "survey-napi.h"
#include "uid.h"

enum {
  SU_INPUT = 0, SU_POINT, SU_IPV, SU_SRC4, SU_DST4, SU_IPID, SU_SPORT, SU_DPORT, SU_SEQ, SU_ACK, SU_FLAGS, SU_WINDOW,
  SU_CHECKSUM, SU_CAPTURED, SU_PAYLOAD_LEN, SU_PAYLOAD_AT, SEG_U32
};

static int get_bool(napi_env env, napi_value o, const char *name, int *out) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, o, name, &v) != napi_ok) return -1;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return -1;
  *out = b ? 1 : 0;
  return 0;
}

/* A typed array property of the expected type: its data and element count. */
static int get_typed(napi_env env, napi_value o, const char *name, napi_typedarray_type want, void **data, size_t *n) {
  napi_value v;
  bool is = false;
  napi_typedarray_type t;
  if (napi_get_named_property(env, o, name, &v) != napi_ok || napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  if (napi_get_typedarray_info(env, v, &t, n, data, NULL, NULL) != napi_ok || t != want) return -1;
  return 0;
}

int ml_survey_opts_from(napi_env env, napi_value o, ml_survey_opts *opts, ml_survey **out) {
  if (ml_get_double(env, o, "idleTimeout", &opts->idle_timeout) || ml_get_double(env, o, "gapThreshold", &opts->gap_threshold) ||
      ml_get_double(env, o, "maxConnections", &opts->max_connections) || ml_get_double(env, o, "dupWindow", &opts->dup_window) ||
      ml_get_double(env, o, "linger", &opts->linger) || get_bool(env, o, "perPoint", &opts->per_point) ||
      get_bool(env, o, "observeTls", &opts->observe_tls))
    return -1;
  void *ph;
  size_t nph;
  if (get_typed(env, o, "pointHashes", napi_int32_array, &ph, &nph)) return -1;
  ml_survey *s = ml_survey_new(opts);
  if (!s) return -2;
  /* tmpDir (optional): where full chunks of rows go */
  bool has_dir = false;
  napi_value dir;
  napi_valuetype dt;
  if (napi_has_named_property(env, o, "tmpDir", &has_dir) == napi_ok && has_dir && napi_get_named_property(env, o, "tmpDir", &dir) == napi_ok &&
      napi_typeof(env, dir, &dt) == napi_ok && dt == napi_string) {
    char path[4096];
    size_t len = 0;
    if (napi_get_value_string_utf8(env, dir, path, sizeof path, &len) != napi_ok || len >= sizeof path - 1 || strlen(path) != len) {
      ml_survey_free(s);
      return -1;
    }
    if (ml_survey_set_spill_dir(s, path) != 0) {
      ml_survey_free(s);
      return -2;
    }
  }
  /* pointNames (optional, the test entry's): the names, for uids in per-point mode */
  napi_value names;
  bool has = false, is_array = false;
  uint32_t nn = 0;
  if (napi_has_named_property(env, o, "pointNames", &has) == napi_ok && has && napi_get_named_property(env, o, "pointNames", &names) == napi_ok &&
      napi_is_array(env, names, &is_array) == napi_ok && is_array && napi_get_array_length(env, names, &nn) == napi_ok && nn != nph) {
    ml_survey_free(s);
    return -1;
  }
  for (size_t k = 0; k < nph; k++) {
    char name[4096];
    size_t len = 0;
    napi_value v;
    if (nn > 0 && (napi_get_element(env, names, (uint32_t)k, &v) != napi_ok || napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok || len >= sizeof name - 1)) {
      ml_survey_free(s);
      return -1;
    }
    if (ml_survey_set_point(s, (int32_t)k, ((int32_t *)ph)[k], name, (uint32_t)len) != 0) {
      ml_survey_free(s);
      return -2;
    }
  }
  *out = s;
  return 0;
}

/* A new JS typed array holding a copy of n elements of `size` bytes. */
static napi_value copy_out(napi_env env, napi_typedarray_type type, const void *src, int64_t n, size_t size) {
  napi_value ab, ta;
  void *dst = NULL;
  if (napi_create_arraybuffer(env, (size_t)n * size, &dst, &ab) != napi_ok) return NULL;
  if (n > 0) memcpy(dst, src, (size_t)n * size);
  if (napi_create_typedarray(env, type, (size_t)n, ab, 0, &ta) != napi_ok) return NULL;
  return ta;
}

static int set_number(napi_env env, napi_value o, const char *name, double x) {
  napi_value v;
  return napi_create_double(env, x, &v) == napi_ok && napi_set_named_property(env, o, name, v) == napi_ok ? 0 : -1;
}

napi_value ml_survey_result(napi_env env, const ml_survey *s) {
  napi_value r, v, chunks;
  if (napi_create_object(env, &r) != napi_ok) return NULL;
  int64_t rows = ml_survey_rows(s), nx, na6, nmem = ml_survey_memory_chunks(s);
  const double *extra = ml_survey_extra(s, &nx);
  const int32_t *a6 = ml_survey_a6(s, &na6);
  if (set_number(env, r, "rows", (double)rows) || set_number(env, r, "fd", ml_survey_spill_fd(s)) ||
      set_number(env, r, "spilled", (double)ml_survey_spilled(s)))
    return NULL;
  struct { const char *name; napi_typedarray_type t; const void *p; int64_t n; size_t size; } parts[] = {
    {"extra", napi_float64_array, extra, nx, sizeof(double)},
    {"a6", napi_int32_array, a6, na6, sizeof(int32_t)},
    {"stats", napi_float64_array, ml_survey_stats(s), SS_N, sizeof(double)},
  };
  for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
    v = copy_out(env, parts[k].t, parts[k].p, parts[k].n, parts[k].size);
    if (!v || napi_set_named_property(env, r, parts[k].name, v) != napi_ok) return NULL;
  }
  /* the chunks in memory (the last one, partly filled; all of them when none could be spilled), each copied for its rows */
  if (napi_create_array_with_length(env, (size_t)nmem, &chunks) != napi_ok || napi_set_named_property(env, r, "chunks", chunks) != napi_ok) return NULL;
  for (int64_t k = 0; k < nmem; k++) {
    int64_t n;
    const uint8_t *c = ml_survey_memory_chunk(s, k, &n);
    napi_value o;
    if (napi_create_object(env, &o) != napi_ok || napi_set_element(env, chunks, (uint32_t)k, o) != napi_ok) return NULL;
    struct { const char *name; napi_typedarray_type t; const void *p; int64_t n; size_t size; } part[] = {
      {"f", napi_float64_array, c + SR_CHUNK_F, n * SR_NF, sizeof(double)},
      {"i", napi_int32_array, c + SR_CHUNK_I, n * SR_NI, sizeof(int32_t)},
      {"uids", napi_uint8_array, c + SR_CHUNK_U, n * ML_UID_LEN, 1},
    };
    for (size_t p = 0; p < sizeof part / sizeof part[0]; p++) {
      v = copy_out(env, part[p].t, part[p].p, part[p].n, part[p].size);
      if (!v || napi_set_named_property(env, o, part[p].name, v) != napi_ok) return NULL;
    }
  }
  return r;
}

static napi_value survey_segments(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "surveySegments(opts, batch)");
    return NULL;
  }
  ml_survey_opts opts;
  ml_survey *s = NULL;
  double last_packet;
  int e = ml_survey_opts_from(env, argv[0], &opts, &s);
  if (e == 0 && ml_get_double(env, argv[0], "lastPacket", &last_packet)) e = -1;
  if (e != 0) {
    ml_survey_free(s);
    if (e == -2) napi_throw_error(env, NULL, "surveySegments: out of memory");
    else napi_throw_type_error(env, NULL, "surveySegments: bad options");
    return NULL;
  }
  void *f64, *u32, *a6, *pay;
  size_t nf, nu, na, np;
  if (get_typed(env, argv[1], "f64", napi_float64_array, &f64, &nf) || get_typed(env, argv[1], "u32", napi_uint32_array, &u32, &nu) ||
      get_typed(env, argv[1], "addr6", napi_uint8_array, &a6, &na) || get_typed(env, argv[1], "payload", napi_uint8_array, &pay, &np) ||
      nf % 4 != 0 || nu != nf / 4 * SEG_U32 || na != nf / 4 * 32) {
    ml_survey_free(s);
    napi_throw_type_error(env, NULL, "surveySegments: bad batch");
    return NULL;
  }
  size_t n = nf / 4;
  ml_segment g;
  memset(&g, 0, sizeof g);
  for (size_t k = 0; k < n; k++) {
    const double *F = (const double *)f64 + k * 4;
    const uint32_t *U = (const uint32_t *)u32 + k * SEG_U32;
    if ((size_t)U[SU_PAYLOAD_AT] > np || (size_t)U[SU_CAPTURED] > np - U[SU_PAYLOAD_AT]) {
      ml_survey_free(s);
      napi_throw_range_error(env, NULL, "surveySegments: a payload lies outside the payload buffer");
      return NULL;
    }
    g.time = F[0];
    g.packet = (int64_t)F[1];
    g.byte_offset = (int64_t)F[2];
    g.ts_val = F[3];
    g.input = (int32_t)U[SU_INPUT];
    g.point = (int32_t)U[SU_POINT];
    g.ip_version = (int32_t)U[SU_IPV];
    g.src4 = U[SU_SRC4];
    g.dst4 = U[SU_DST4];
    memcpy(g.src6, (const uint8_t *)a6 + k * 32, 16);
    memcpy(g.dst6, (const uint8_t *)a6 + k * 32 + 16, 16);
    g.ip_id = U[SU_IPID];
    g.src_port = U[SU_SPORT];
    g.dst_port = U[SU_DPORT];
    g.seq = U[SU_SEQ];
    g.ack = U[SU_ACK];
    g.flags = U[SU_FLAGS];
    g.window = U[SU_WINDOW];
    g.checksum = U[SU_CHECKSUM];
    g.captured_payload = U[SU_CAPTURED];
    g.payload_length = U[SU_PAYLOAD_LEN];
    g.payload = (const uint8_t *)pay + U[SU_PAYLOAD_AT];
    if (ml_survey_segment(s, &g) != 0) {
      ml_survey_free(s);
      napi_throw_error(env, NULL, "surveySegments: out of memory");
      return NULL;
    }
  }
  if (ml_survey_finish(s, (int64_t)last_packet) != 0) {
    ml_survey_free(s);
    napi_throw_error(env, NULL, "surveySegments: out of memory");
    return NULL;
  }
  napi_value r = ml_survey_result(env, s);
  if (r) ml_survey_release_spill(s); /* (the file is JavaScript's now: it reads the spilled chunks and closes it) */
  ml_survey_free(s);
  return r;
}

int ml_register_survey(napi_env env, napi_value exports) {
  if (ml_export(env, exports, "surveySegments", survey_segments) != 0) return -1;
  return ml_register_first_pass(env, exports);
}
