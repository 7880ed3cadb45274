/*
 * The ALB access-log quick scan in C: src/logs/alb-scan.ts's AlbLineScanner over raw bytes.
 *
 * The analysis's log pass needs, of nearly every line, only the time, the client address and port,
 * the target and elb_status_code (the lines it keeps in full are the few errors). The JavaScript
 * scan reads them from decoded strings; decoding a log (and cutting a string per line) is much of
 * its cost. This scans a block of whole lines as they were read (a local file's reused buffer, a
 * gzip or S3 chunk: any Buffer), one call per block, and writes per line, into typed arrays the
 * caller reuses:
 *
 *   ints[8k .. 8k+7]: nl (offset of the line's '\n'), end (where its text ends: before a '\r' that
 *     precedes the '\n'), status, client port, target address from, to (offsets in the buffer),
 *     target port (-1: '-'), elb_status_code (-1: '-')
 *   nums[2k], nums[2k+1]: time (seconds since the epoch, the very double parseIsoSecondsIn gives),
 *     client IPv4 address as a number
 *
 * status: 0 "decline": the JavaScript reads this line as before (decodes it, its own scan, the full
 * parser); ST_QUICK: a valid ALB entry with the fields above filled; ST_TARGET_NEW (with ST_QUICK):
 * its target field differs from the previous quick line's in this block (the caller builds the
 * target's string only then); ST_NON_ASCII (with decline): the line has bytes >= 0x80 (decode it
 * as UTF-8; an ASCII line can be decoded as latin1).
 *
 * It is conservative: a line is quick only when alb-scan.ts would accept it with these values AND it
 * is plain printable ASCII (no control byte, no byte >= 0x80, no backslash: offsets are then the same
 * in bytes as in the decoded string) AND its client is a dotted quad written canonically (clientV4 in
 * alb-scan.ts). Everything else is declined, so the JavaScript keeps its messages for hostile input.
 * Field numbers (0-based) and rules as in alb-scan.ts: 1 time, 3 client:port, 4 target:port, 5-7
 * processing times, 8-9 status codes, 10-11 byte counts, 20 matched_rule_priority, 21
 * request_creation_time, 26 target_status_code_list. No allocation; every read is bounded by the
 * line's end.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "ml.h"

#define ST_QUICK 1
#define ST_TARGET_NEW 2
#define ST_NON_ASCII 4
#define INTS 8
#define NUMS 2
/* alb.ts ALB_MIN_FIELDS; the spans kept: through target_status_code_list (alb-scan.ts SPANS) */
#define MIN_FIELDS 13
#define SPANS 27

/* Lines up to this long get bitmaps of their spaces and quotes (on the stack); longer ones are split byte by byte. */
#define BM_BYTES 4096
#define BM_WORDS (BM_BYTES / 64)

typedef struct {
  const uint8_t *p; /* the line (offsets below are from p) */
  size_t n;
  /* bit i: p[i] is ' ' (sp) or '"' (qu); NULL for a line longer than BM_BYTES */
  const uint64_t *sp, *qu;
  size_t from[SPANS], to[SPANS];
  uint8_t quoted[SPANS];
} line_t;

/* The first set bit at or after i in bm (bits at n and beyond are clear), or n. */
static inline __attribute__((always_inline)) size_t next_bit(const uint64_t *bm, size_t i, size_t n) {
  if (i >= n) return n;
  size_t w = i >> 6, last = (n - 1) >> 6;
  uint64_t x = bm[w] & (~(uint64_t)0 << (i & 63));
  while (x == 0) {
    if (++w > last) return n;
    x = bm[w];
  }
  return (w << 6) + (size_t)__builtin_ctzll(x);
}

static inline __attribute__((always_inline)) size_t next_space(const line_t *l, size_t i) {
  if (l->sp != NULL) return next_bit(l->sp, i, l->n);
  while (i < l->n && l->p[i] != ' ') i++;
  return i;
}

static inline __attribute__((always_inline)) size_t next_quote(const line_t *l, size_t i) {
  if (l->qu != NULL) return next_bit(l->qu, i, l->n);
  const uint8_t *k = i < l->n ? memchr(l->p + i, '"', l->n - i) : NULL;
  return k == NULL ? l->n : (size_t)(k - l->p);
}

/* tokenize.ts's rules for a line without tabs or backslashes (alb-scan.ts split): fields separated by
 * spaces; a field starting with '"' runs to the next '"' followed by a space or the end. Returns the
 * number of fields, -1 for an unterminated quote. */
static long split(line_t *l) {
  const uint8_t *p = l->p;
  size_t n = l->n, i = 0;
  long count = 0;
  while (i < n) {
    if (p[i] == ' ') {
      i++;
      continue;
    }
    size_t a, b;
    int q = p[i] == '"';
    if (q) {
      a = i + 1;
      size_t j = a;
      for (;;) {
        size_t k = next_quote(l, j);
        if (k >= n) return -1;
        if (k + 1 == n || p[k + 1] == ' ') {
          b = k;
          break;
        }
        j = k + 1; /* a stray quote inside the field */
      }
      i = b + 1;
    } else {
      a = i;
      b = next_space(l, i + 1);
      i = b;
    }
    if (count < SPANS) {
      l->from[count] = a;
      l->to[count] = b;
      l->quoted[count] = (uint8_t)q;
    }
    count++;
  }
  return count;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int is_dash(const uint8_t *p, size_t a, size_t b) { return b - a == 1 && p[a] == '-'; }

/* At least one digit, nothing else (parseUintIn not NaN, whatever the length). */
static int all_digits(const uint8_t *p, size_t a, size_t b) {
  if (b <= a) return 0;
  for (size_t i = a; i < b; i++)
    if (!is_digit(p[i])) return 0;
  return 1;
}

/* fields.ts two(): two digits, or -1 */
static int two(const uint8_t *p, size_t i) {
  if (!is_digit(p[i]) || !is_digit(p[i + 1])) return -1;
  return (p[i] - '0') * 10 + (p[i + 1] - '0');
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil), exact. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static const int DAYS_IN_MONTH[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* The first 13 characters (through the hour) of the last valid time read, and that hour's start. */
typedef struct {
  uint8_t key[13];
  int valid;
  double base;
} hour_cache;

/*
 * fields.ts parseIsoSecondsIn of p[a, b): 1 and *out set, or 0 (NaN). The same operations on
 * doubles in the same order: the hour's start (Date.UTC(...) / 1000, an exact integer), + minutes
 * * 60 + seconds (exact), + fraction / its scale (one rounding, as in JavaScript), then an offset.
 */
static int iso_seconds(hour_cache *hc, const uint8_t *p, size_t a, size_t b, double *out) {
  if (b < a || b - a < 19) return 0;
  if (p[a + 4] != '-' || p[a + 7] != '-' || p[a + 13] != ':' || p[a + 16] != ':') return 0;
  if (p[a + 10] != 'T' && p[a + 10] != ' ') return 0;
  double base;
  if (hc->valid && memcmp(hc->key, p + a, 13) == 0) {
    base = hc->base;
  } else {
    int y1 = two(p, a), y2 = two(p, a + 2), mo = two(p, a + 5), d = two(p, a + 8), h = two(p, a + 11);
    if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || h < 0) return 0;
    int y = y1 * 100 + y2;
    if (!(y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && h <= 23)) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int dim = mo == 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1];
    if (d > dim) return 0;
    base = (double)(days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600);
    /* (as fields.ts: the hour of the last valid time, which consecutive lines nearly always share) */
    memcpy(hc->key, p + a, 13);
    hc->base = base;
    hc->valid = 1;
  }
  int mi = two(p, a + 14), sec = two(p, a + 17);
  if (mi < 0 || sec < 0 || !(mi <= 59 && sec <= 60)) return 0;
  double t = base + (double)(mi * 60);
  t = t + (double)sec;
  size_t i = a + 19, n = b;
  if (i < n && p[i] == '.') {
    i++;
    double v = 0, scale = 1;
    size_t start = i;
    for (; i < n; i++) {
      uint8_t c = p[i];
      if (!is_digit(c)) break;
      if (scale < 1e9) {
        v = v * 10 + (double)(c - '0');
        scale *= 10;
      }
    }
    if (i == start) return 0;
    t += v / scale;
  }
  if (i == n) {
    *out = t;
    return 1;
  }
  uint8_t z = p[i];
  if (z == 'Z' && i + 1 == n) {
    *out = t;
    return 1;
  }
  if ((z == '+' || z == '-') && n - i == 6 && p[i + 3] == ':') {
    int oh = two(p, i + 1), om = two(p, i + 4);
    if (oh < 0 || om < 0 || !(oh <= 23 && om <= 59)) return 0;
    double off = (double)((oh * 60 + om) * 60);
    *out = z == '+' ? t - off : t + off;
    return 1;
  }
  return 0;
}

/* fields.ts parseAddrPortIn of p[a, b): the address as [*af, *at), the port; 0 when no valid port. */
static int addr_port(const uint8_t *p, size_t a, size_t b, size_t *af, size_t *at, int32_t *port) {
  if (b <= a) return 0;
  size_t pf;
  if (p[a] == '[') {
    const uint8_t *k = memchr(p + a, ']', b - a);
    if (k == NULL) return 0;
    size_t close = (size_t)(k - p);
    if (close + 1 >= b || p[close + 1] != ':') return 0;
    *af = a + 1;
    *at = close;
    pf = close + 2;
  } else {
    size_t colon = b;
    for (size_t i = b; i > a; i--)
      if (p[i - 1] == ':') {
        colon = i - 1;
        break;
      }
    if (colon == b || colon <= a) return 0;
    *af = a;
    *at = colon;
    pf = colon + 1;
  }
  if (pf >= b) return 0;
  uint32_t v = 0;
  for (size_t i = pf; i < b; i++) {
    if (!is_digit(p[i])) return 0;
    v = v * 10 + (uint32_t)(p[i] - '0');
    if (v > 65535) return 0;
  }
  *port = (int32_t)v;
  return 1;
}

/* fields.ts canonicalIpv4In: the dotted quad as a number when written canonically; -1 otherwise. */
static int64_t canonical_ipv4(const uint8_t *p, size_t a, size_t b) {
  uint32_t v = 0, part = 0;
  int digits = 0, parts = 0;
  for (size_t i = a; i < b; i++) {
    uint8_t c = p[i];
    if (is_digit(c)) {
      if (digits == 1 && part == 0) return -1; /* a leading zero */
      part = part * 10 + (uint32_t)(c - '0');
      if (++digits > 3 || part > 255) return -1;
    } else if (c == '.' && digits > 0 && parts < 3) {
      v = v * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (parts != 3 || digits == 0) return -1;
  return (int64_t)v * 256 + part;
}

/* alb-scan.ts's DECIMAL as a whole field: '-', or an optional '-' then digits with at most one '.'
 * and at least one digit (`-|-?(?:\d+(?:\.\d*)?|\.\d+)`). */
static int decimal_ok(const uint8_t *p, size_t a, size_t b) {
  if (is_dash(p, a, b)) return 1;
  size_t i = a;
  if (i < b && p[i] == '-') i++;
  int digits = 0, dot = 0;
  for (; i < b; i++) {
    if (is_digit(p[i])) digits++;
    else if (p[i] == '.' && !dot) dot = 1;
    else return 0;
  }
  return digits > 0;
}

/* COUNT: '-' or digits. */
static int count_ok(const uint8_t *p, size_t a, size_t b) { return is_dash(p, a, b) || all_digits(p, a, b); }

/* target_status_code_list (alb-scan.ts statusListOk): space-separated entries, each '-' or digits. */
static int status_list_ok(const uint8_t *p, size_t a, size_t b) {
  size_t i = a;
  while (i < b) {
    if (p[i] == ' ') {
      i++;
      continue;
    }
    size_t e = i;
    while (e < b && p[e] != ' ') e++;
    if (!count_ok(p, i, e)) return 0;
    i = e;
  }
  return 1;
}

/* The scan of one line p[0, n) (printable ASCII, checked by the caller). 1 when quick, out filled. */
static int scan_line(line_t *l, hour_cache *hc, int32_t *o, double *num) {
  long n = split(l);
  if (n < MIN_FIELDS) return 0;
  const uint8_t *p = l->p;
  const size_t *from = l->from, *to = l->to;
  double time;
  if (!iso_seconds(hc, p, from[1], to[1], &time)) return 0;
  size_t af, at;
  int32_t cport, tport = -1;
  if (!addr_port(p, from[3], to[3], &af, &at, &cport)) return 0;
  int64_t v4 = canonical_ipv4(p, af, at);
  if (v4 < 0) return 0; /* IPv6 or non-canonical: the JavaScript reads it */
  size_t tf = 0, tt = 0;
  if (!is_dash(p, from[4], to[4]) && !addr_port(p, from[4], to[4], &tf, &tt, &tport)) return 0;
  /* fields 5-11, unquoted (the JavaScript's one regex over them needs that), each whole */
  for (int k = 5; k <= 11; k++) {
    if (l->quoted[k]) return 0;
    if (k <= 7 ? !decimal_ok(p, from[k], to[k]) : !count_ok(p, from[k], to[k])) return 0;
  }
  int32_t elb = -1;
  if (!is_dash(p, from[8], to[8])) {
    if (to[8] - from[8] > 9) return 0; /* (a number the int32 cannot hold: left to the JavaScript) */
    elb = 0;
    for (size_t i = from[8]; i < to[8]; i++) elb = elb * 10 + (p[i] - '0');
  }
  if (n > 20 && !is_dash(p, from[20], to[20])) {
    size_t a = from[20];
    if (to[20] - a > 1 && p[a] == '-') a++;
    if (!all_digits(p, a, to[20])) return 0;
  }
  if (n > 21 && !is_dash(p, from[21], to[21])) {
    double t;
    if (!iso_seconds(hc, p, from[21], to[21], &t)) return 0;
  }
  if (n > 26 && !status_list_ok(p, from[26], to[26])) return 0;
  o[3] = cport;
  o[4] = (int32_t)tf;
  o[5] = (int32_t)tt;
  o[6] = tport;
  o[7] = elb;
  num[0] = time;
  num[1] = (double)v4;
  return 1;
}

/*
 * Whether p[0, n) is printable ASCII without a backslash (0x20-0x7e but 0x5c); *nonAscii: whether
 * it has a byte >= 0x80. When sp and qu are given (n <= BM_BYTES), fills them with the bitmaps of
 * spaces and quotes. Sixteen bytes at a time where SSE2 is there (x86-64: little-endian, so the
 * 16-bit masks land in place in the 64-bit words), no early exit.
 */
static int plain_ascii(const uint8_t *p, size_t n, int *nonAscii, uint64_t *sp, uint64_t *qu) {
  size_t i = 0;
  unsigned bad = 0, high = 0;
  if (sp != NULL) {
    memset(sp, 0, ((n + 63) / 64) * 8);
    memset(qu, 0, ((n + 63) / 64) * 8);
  }
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f), bs = _mm_set1_epi8('\\'), quote = _mm_set1_epi8('"');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
    /* (signed: bytes >= 0x80 are below 0x20 too) */
    __m128i b = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, bs)));
    bad |= (unsigned)_mm_movemask_epi8(b);
    if (sp != NULL) {
      uint16_t s16 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)), q16 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
      memcpy((uint8_t *)sp + i / 8, &s16, 2);
      memcpy((uint8_t *)qu + i / 8, &q16, 2);
    }
  }
#endif
  for (; i < n; i++) {
    uint8_t c = p[i];
    bad |= c < 0x20 || c >= 0x7f || c == '\\';
    if (sp != NULL) {
      sp[i >> 6] |= (uint64_t)(c == ' ') << (i & 63);
      qu[i >> 6] |= (uint64_t)(c == '"') << (i & 63);
    }
  }
  if (bad != 0) /* (a byte >= 0x80 is one of the bad ones: look for one only then) */
    for (i = 0; i < n && high == 0; i++) high = p[i] >= 0x80;
  *nonAscii = high != 0;
  return bad == 0;
}

/* The lines of buf[from, to) that end with '\n', up to cap of them, into ints and nums; returns how many. */
static size_t scan_block(const uint8_t *buf, size_t from, size_t to, int32_t *ints, double *nums, size_t cap) {
  size_t pos = from, end = to, k = 0;
  /* the previous quick line's target field, for ST_TARGET_NEW */
  size_t lastA = 0, lastN = 0;
  int haveLast = 0;
  line_t l;
  uint64_t sp[BM_WORDS], qu[BM_WORDS];
  hour_cache hc = {{0}, 0, 0};
  while (k < cap && pos < end) {
    const uint8_t *nl = memchr(buf + pos, '\n', end - pos);
    if (nl == NULL) break;
    size_t nlAt = (size_t)(nl - buf), e = nlAt;
    if (e > pos && buf[e - 1] == '\r') e--;
    int32_t *o = ints + k * INTS;
    double *num = nums + k * NUMS;
    o[0] = (int32_t)nlAt;
    o[1] = (int32_t)e;
    int nonAscii;
    int bm = e - pos <= BM_BYTES;
    int plain = plain_ascii(buf + pos, e - pos, &nonAscii, bm ? sp : NULL, bm ? qu : NULL);
    int32_t st = nonAscii ? ST_NON_ASCII : 0;
    if (plain && e > pos) {
      l.p = buf + pos;
      l.n = e - pos;
      l.sp = bm ? sp : NULL;
      l.qu = bm ? qu : NULL;
      if (scan_line(&l, &hc, o, num)) {
        st = ST_QUICK;
        /* offsets in the buffer; the target field compared with the previous quick line's */
        size_t ta = pos + l.from[4], tn = l.to[4] - l.from[4];
        if (!haveLast || tn != lastN || memcmp(buf + ta, buf + lastA, tn) != 0) st |= ST_TARGET_NEW;
        haveLast = 1;
        lastA = ta;
        lastN = tn;
        if (o[6] >= 0) {
          o[4] += (int32_t)pos;
          o[5] += (int32_t)pos;
        }
      }
    }
    o[2] = st;
    k++;
    pos = nlAt + 1;
  }
  return k;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

/*
 * albScan(buf: Uint8Array, from, to, ints: Int32Array, nums: Float64Array) -> number of lines
 * written: the lines of buf[from, to) that end with '\n', as many as the arrays hold (the caller
 * calls again from the last line's nl + 1).
 */
static napi_value alb_scan(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "albScan(buf, from, to, ints, nums)");
    return NULL;
  }
  uint8_t *buf;
  int32_t *ints;
  double *nums;
  size_t blen, ilen, nlen;
  int64_t from, to;
  if (!typed(env, argv[0], napi_uint8_array, (void **)&buf, &blen) || !typed(env, argv[3], napi_int32_array, (void **)&ints, &ilen) ||
      !typed(env, argv[4], napi_float64_array, (void **)&nums, &nlen) || napi_get_value_int64(env, argv[1], &from) != napi_ok ||
      napi_get_value_int64(env, argv[2], &to) != napi_ok) {
    napi_throw_type_error(env, NULL, "albScan(buf: Uint8Array, from: number, to: number, ints: Int32Array, nums: Float64Array)");
    return NULL;
  }
  if (from < 0 || to < from || (uint64_t)to > blen || to > INT32_MAX) {
    napi_throw_range_error(env, NULL, "albScan: [from, to) is not within the buffer");
    return NULL;
  }
  size_t cap = ilen / INTS < nlen / NUMS ? ilen / INTS : nlen / NUMS;
  size_t k = scan_block(buf, (size_t)from, (size_t)to, ints, nums, cap);
  napi_value r;
  napi_create_uint32(env, (uint32_t)k, &r);
  return r;
}

int ml_register_albscan(napi_env env, napi_value exports) { return ml_export(env, exports, "albScan", alb_scan); }
