/*
 * The line check of a TLS key log in C (keylog.h): the JavaScript reads a 10 000-line key log by
 * testing each line against one sticky RegExp (keylog-secrets.ts wellFormedLine) and walking the
 * line ends (LineWalk); here the same is done over the bytes, once, and the JavaScript is left
 * only the lines of another shape. Used for the key log files read whole (KeyLog.addBytes) and,
 * on the threadpool after the native first pass, for the captures' Decryption Secrets Blocks.
 *
 *   well-formed:  LABEL SP [0-9a-fA-F]{64} SP [0-9a-fA-F]{96}       LABEL: CLIENT_RANDOM, PMS_CLIENT_RANDOM
 *                 LABEL SP [0-9a-fA-F]{64} SP [0-9a-fA-F]{64|96}    LABEL: the seven TLS 1.3 labels
 *
 * and nothing before or after it on its line. (The RegExp's alternatives cannot both match one
 * line: a label is followed by a space, and no label followed by a space starts another; its
 * optional 32 hex digits are greedy, so a 64-digit secret followed by more is no match at the end.)
 */
#include <stdlib.h>
#include <string.h>
#include "keylog.h"
#include "ml.h"
#include "read.h"

static const uint8_t HEX[256] = {['0' ... '9'] = 1, ['A' ... 'F'] = 1, ['a' ... 'f'] = 1};

typedef struct label {
  const char *text;
  size_t len;
  int tls13; /* secret of 64 or 96 hex digits (else 96 only) */
} label;

/* SLOT_LABELS of keylog-secrets.ts: the labels WELL_FORMED names. */
static const label LABELS[] = {
    {"CLIENT_RANDOM", 13, 0},
    {"PMS_CLIENT_RANDOM", 17, 0},
    {"CLIENT_EARLY_TRAFFIC_SECRET", 27, 1},
    {"EARLY_EXPORTER_SECRET", 21, 1},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", 31, 1},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", 31, 1},
    {"CLIENT_TRAFFIC_SECRET_0", 23, 1},
    {"SERVER_TRAFFIC_SECRET_0", 23, 1},
    {"EXPORTER_SECRET", 15, 1},
};

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* The high bit of each byte of x (all below 0x80) that lies in [lo, hi]: x + 0x80 - lo reaches the
 * high bit when the byte is at least lo, x + 0x7f - hi when above hi (no carry crosses bytes). */
static inline uint64_t in_range(uint64_t x, unsigned lo, unsigned hi) {
  return (x + (0x80 - lo) * ONES) & ~(x + (0x7f - hi) * ONES) & HIGH;
}

/* Whether p[0, n) are all hex digits: 8 at a time (n is 64 or 96 here), the rest one by one. */
static int all_hex(const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    if (x & HIGH) return 0;
    if ((in_range(x, '0', '9') | in_range(x | 0x20 * ONES, 'a', 'f')) != HIGH) return 0;
  }
  for (; i < n; i++)
    if (!HEX[p[i]]) return 0;
  return 1;
}

/*
 * Whether line[0, len) is well-formed. Its length fixes where its label ends for either length
 * of secret (64 or 96 hex digits): the label is then compared, the two spaces and the digits
 * checked. The two label lengths differ by 32, more than any two labels do: at most one fits.
 */
static int well_formed(const uint8_t *line, size_t len) {
  if (len < 15 + 1 + 64 + 1 + 64) return 0;
  for (int secret = 96; secret >= 64; secret -= 32) {
    size_t tail = 1 + 64 + 1 + (size_t)secret;
    if (len <= tail) continue;
    size_t ll = len - tail;
    if (line[ll] != ' ' || line[ll + 65] != ' ') continue;
    for (size_t k = 0; k < sizeof LABELS / sizeof LABELS[0]; k++) {
      const label *l = &LABELS[k];
      if (l->len != ll || (secret == 64 && !l->tls13) || memcmp(line, l->text, ll) != 0) continue;
      return all_hex(line + ll + 1, 64) && all_hex(line + ll + 66, (size_t)secret);
    }
  }
  return 0;
}

/* The first `c` in p[from, n), or n. */
static size_t find(const uint8_t *p, size_t from, size_t n, int c) {
  const uint8_t *q = from < n ? memchr(p + from, c, n - from) : NULL;
  return q == NULL ? n : (size_t)(q - p);
}

int32_t ml_keylog_lines(const uint8_t *p, size_t n, size_t from, int32_t *out, size_t cap) {
  size_t wf_end = KL_HDR; /* next free slot for a pair */
  size_t rec_start = cap; /* the lowest record's first slot */
  int32_t n_wf = 0, n_other = 0, chars = 0, lines = 0;
  int32_t resume = -1;
  size_t s = from;
  /* The next LF and CR at or after the line's start (n: none left), searched again only once passed. */
  size_t lf = find(p, s, n, '\n'), cr = find(p, s, n, '\r');
  for (;;) {
    if (lf < s) lf = find(p, s, n, '\n');
    if (cr < s) cr = find(p, s, n, '\r');
    size_t e = lf < cr ? lf : cr;
    if (e > s) {
      if (well_formed(p + s, e - s)) {
        if (wf_end + 2 > rec_start) {
          resume = (int32_t)s;
          break;
        }
        out[wf_end++] = (int32_t)s;
        out[wf_end++] = (int32_t)e;
        n_wf++;
        chars += (int32_t)(e - s);
      } else {
        if (rec_start < wf_end + KL_REC) {
          resume = (int32_t)s;
          break;
        }
        rec_start -= KL_REC;
        int32_t *r = out + rec_start;
        r[0] = (int32_t)s;
        r[1] = (int32_t)e;
        r[2] = lines;
        r[3] = n_wf;
        r[4] = chars;
        n_other++;
      }
    }
    lines++;
    if (e >= n) break;
    s = e + (p[e] == '\r' && e + 1 < n && p[e + 1] == '\n' ? 2 : 1);
  }
  out[0] = resume;
  out[1] = n_wf;
  out[2] = n_other;
  out[3] = chars;
  out[4] = lines;
  return resume;
}

/*
 * The walk of p[from, n) in one array: `out` (cap numbers) when it fits, else one malloc'ed of its
 * exact size (*fresh; free it). 0, or -1 when out of memory.
 */
static int walk_whole(const uint8_t *p, size_t n, size_t from, int32_t *out, size_t cap, int32_t **fresh, size_t *len) {
  *fresh = NULL;
  if (out != NULL && ml_keylog_lines(p, n, from, out, cap) < 0) {
    *len = cap;
    return 0;
  }
  /* Room for every line well-formed (at least 145 characters and a line end each), and some others. */
  size_t c = KL_HDR + 2 * ((n - from) / 146 + 1) + KL_REC * 8;
  if (c <= cap) c = 2 * cap;
  for (;;) {
    int32_t *a = malloc(c * sizeof *a);
    if (a == NULL) return -1;
    if (ml_keylog_lines(p, n, from, a, c) < 0) {
      /* Done: the records move down to sit right after the pairs (the array's exact size). */
      size_t pairs = KL_HDR + 2 * (size_t)a[1], recs = KL_REC * (size_t)a[2];
      memmove(a + pairs, a + c - recs, recs * sizeof *a);
      *len = pairs + recs;
      int32_t *fit = realloc(a, (*len) * sizeof *a);
      *fresh = fit != NULL ? fit : a;
      return 0;
    }
    free(a);
    c *= 2;
  }
}

int ml_keylog_dsb_lines(const uint8_t *p, size_t n, int32_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (n >= 0x7fffffff || (n >= 2 && p[0] == 0xff && p[1] == 0xfe)) return 1;
  size_t from = n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf ? 3 : 0;
  return walk_whole(p, n, from, NULL, 0, out, len);
}

#define DSB_TLS_KEYLOG 0x544c534bu

void ml_keylog_check_dsbs(const ml_read_result *r, ml_keylog_dsbs *d) {
  if (r->n_dsbs == 0) return;
  d->lines = calloc((size_t)r->n_dsbs, sizeof *d->lines);
  d->lens = calloc((size_t)r->n_dsbs, sizeof *d->lens);
  if (d->lines == NULL || d->lens == NULL) return;
  d->n = r->n_dsbs;
  for (int i = 0; i < r->n_dsbs; i++) {
    const ml_read_dsb *k = &r->dsbs[i];
    if (k->type != DSB_TLS_KEYLOG || ml_keylog_dsb_lines(r->blob + k->off, k->len, &d->lines[i], &d->lens[i]) != 0) d->lines[i] = NULL;
  }
}

int ml_keylog_attach_dsbs(napi_env env, napi_value read, const ml_keylog_dsbs *d) {
  napi_value dsbs;
  if (d->n == 0) return 0;
  if (napi_get_named_property(env, read, "dsbs", &dsbs) != napi_ok) return -1;
  for (int i = 0; i < d->n; i++) {
    if (d->lines[i] == NULL) continue;
    napi_value dsb, buf, arr;
    void *data = NULL;
    size_t bytes = d->lens[i] * sizeof(int32_t);
    if (napi_get_element(env, dsbs, (uint32_t)i, &dsb) != napi_ok || napi_create_arraybuffer(env, bytes, &data, &buf) != napi_ok) return -1;
    memcpy(data, d->lines[i], bytes);
    if (napi_create_typedarray(env, napi_int32_array, d->lens[i], buf, 0, &arr) != napi_ok || napi_set_named_property(env, dsb, "lines", arr) != napi_ok) return -1;
  }
  return 0;
}

void ml_keylog_dsbs_free(ml_keylog_dsbs *d) {
  for (int i = 0; i < d->n; i++) free(d->lines[i]);
  free(d->lines);
  free(d->lens);
  d->n = 0;
  d->lines = NULL;
  d->lens = NULL;
}

/*
 * keyLogLines(text: string, from: number, oneByte: boolean, out: Int32Array) -> Int32Array: the
 * walk of text[from...] (keylog.h), in `out` when it fits, else in a new array of its exact size.
 * The text is copied out here and let go at once: one byte per character when the caller knows
 * it has no character above U+00FF (`oneByte`: a text read as latin1, or ASCII), else from its
 * UTF-16, each character above U+00FF made 0x80 (like it, never part of a well-formed line nor a
 * line end: offsets and lines are the text's).
 */
static napi_value key_log_lines(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_valuetype tt;
  napi_typedarray_type ot;
  size_t olen = 0, n = 0;
  void *odata = NULL;
  int32_t from = 0;
  bool one_byte = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || napi_typeof(env, argv[0], &tt) != napi_ok || tt != napi_string ||
      napi_get_value_int32(env, argv[1], &from) != napi_ok || napi_get_value_bool(env, argv[2], &one_byte) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &ot, &olen, &odata, NULL, NULL) != napi_ok || ot != napi_int32_array) {
    napi_throw_type_error(env, NULL, "keyLogLines(text: string, from: number, oneByte: boolean, out: Int32Array)");
    return NULL;
  }
  if ((one_byte ? napi_get_value_string_latin1(env, argv[0], NULL, 0, &n) : napi_get_value_string_utf16(env, argv[0], NULL, 0, &n)) != napi_ok) return NULL;
  if (n >= 0x7fffffff || from < 0 || (size_t)from > n || olen < KL_HDR + KL_REC) {
    napi_throw_range_error(env, NULL, "keyLogLines: a text below 2^31 characters, 0 <= from <= its length, out of at least 10 numbers");
    return NULL;
  }
  uint8_t *p = malloc(n + 1);
  char16_t *wide = one_byte ? NULL : malloc((n + 1) * sizeof *wide);
  size_t got = 0;
  if (p == NULL || (!one_byte && wide == NULL)) {
    free(p);
    free(wide);
    napi_throw_error(env, NULL, "keyLogLines: out of memory");
    return NULL;
  }
  napi_status st = one_byte ? napi_get_value_string_latin1(env, argv[0], (char *)p, n + 1, &got) : napi_get_value_string_utf16(env, argv[0], wide, n + 1, &got);
  if (!one_byte) {
    for (size_t i = 0; i < got; i++) p[i] = wide[i] > 0xff ? 0x80 : (uint8_t)wide[i];
    free(wide);
  }
  int32_t *fresh = NULL;
  size_t len = 0;
  int e = st != napi_ok || got != n ? -2 : walk_whole(p, n, (size_t)from, odata, olen, &fresh, &len);
  free(p);
  if (e != 0) {
    napi_throw_error(env, NULL, e == -1 ? "keyLogLines: out of memory" : "keyLogLines: the text could not be copied");
    return NULL;
  }
  if (fresh == NULL) return argv[3];
  napi_value buf, arr;
  void *data = NULL;
  if (napi_create_arraybuffer(env, len * sizeof(int32_t), &data, &buf) != napi_ok) {
    free(fresh);
    return NULL;
  }
  memcpy(data, fresh, len * sizeof(int32_t));
  free(fresh);
  return napi_create_typedarray(env, napi_int32_array, len, buf, 0, &arr) == napi_ok ? arr : NULL;
}

/* keyLogDsbLines(bytes: Uint8Array) -> Int32Array | null: ml_keylog_dsb_lines, for tests (the first pass calls it itself) */
static napi_value key_log_dsb_lines(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  napi_typedarray_type bt;
  size_t blen = 0;
  void *bdata = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_typedarray_info(env, argv[0], &bt, &blen, &bdata, NULL, NULL) != napi_ok ||
      bt != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "keyLogDsbLines(bytes: Uint8Array)");
    return NULL;
  }
  ml_keylog_dsbs d = {0};
  int32_t *lines = NULL;
  size_t len = 0;
  int e = ml_keylog_dsb_lines(bdata, blen, &lines, &len);
  if (e < 0) {
    napi_throw_error(env, NULL, "keyLogDsbLines: out of memory");
    return NULL;
  }
  if (e > 0) return napi_get_null(env, &r) == napi_ok ? r : NULL;
  napi_value o;
  d.n = 1;
  d.lines = &lines;
  d.lens = &len;
  /* through ml_keylog_attach_dsbs, as the first pass hands them over: { dsbs: [{ lines }] } */
  napi_value dsbs, dsb;
  if (napi_create_object(env, &o) != napi_ok || napi_create_array_with_length(env, 1, &dsbs) != napi_ok || napi_create_object(env, &dsb) != napi_ok ||
      napi_set_element(env, dsbs, 0, dsb) != napi_ok || napi_set_named_property(env, o, "dsbs", dsbs) != napi_ok || ml_keylog_attach_dsbs(env, o, &d) != 0 ||
      napi_get_named_property(env, dsb, "lines", &r) != napi_ok)
    r = NULL;
  free(lines);
  return r;
}

int ml_register_keylog(napi_env env, napi_value exports) {
  return ml_export(env, exports, "keyLogLines", key_log_lines) || ml_export(env, exports, "keyLogDsbLines", key_log_dsb_lines);
}
