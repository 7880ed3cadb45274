/*
 * The TLS record walk of the first pass (src/tls/record-walk.ts, TlsWalk and offersH2), in C:
 * follows record boundaries (RFC 8446 §5.1: type u8 | version u16 | length u16 | fragment) over a
 * connection's in-order payload, without decrypting or parsing handshake messages, and says when
 * the bytes stop looking like TLS (Complex.Unparsed) or an alert comes in the clear before its
 * sender's encryption started (Complex.TlsAlert). Reads only within [d, d + len).
 */
#include "survey.h"

#define CX_TLS_ALERT 4096
#define CX_UNPARSED 8192

#define CT_CHANGE_CIPHER_SPEC 20
#define CT_ALERT 21
#define CT_APPLICATION_DATA 23
#define CT_HEARTBEAT 24
#define MAX_RECORD 18432
#define HEADER 5

int32_t ml_tls_walk_bytes(ml_tls_walk *w, int dir, const uint8_t *d, uint32_t len) {
  uint32_t i = 0;
  const int h = dir * HEADER;
  while (i < len) {
    uint32_t left = w->left[dir];
    if (left > 0) {
      uint32_t n = len - i < left ? len - i : left;
      w->left[dir] = left - n;
      i += n;
      continue;
    }
    int got = w->got[dir];
    while (got < HEADER && i < len) w->head[h + got++] = d[i++];
    w->got[dir] = (uint8_t)got;
    if (got < HEADER) break;
    w->got[dir] = 0;
    int type = w->head[h];
    uint32_t rlen = ((uint32_t)w->head[h + 3] << 8) | w->head[h + 4];
    if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT || w->head[h + 1] != 3 || rlen > MAX_RECORD) return CX_UNPARSED;
    if (type == CT_ALERT && !w->encrypted[dir]) return CX_TLS_ALERT;
    if (type == CT_CHANGE_CIPHER_SPEC || type == CT_APPLICATION_DATA) w->encrypted[dir] = 1;
    w->left[dir] = rlen;
  }
  return 0;
}

#define HS_CLIENT_HELLO 1
#define EXT_ALPN 16

/* Byte i of [0, n), or -1 beyond (as offersH2's u8/u16). Offsets are int64: lengths add up past 2^32 never, but stay safe. */
static int64_t u8at(const uint8_t *d, int64_t n, int64_t i) { return i >= 0 && i < n ? d[i] : -1; }
static int64_t u16at(const uint8_t *d, int64_t n, int64_t i) { return i >= 0 && i + 1 < n ? ((int64_t)d[i] << 8) | d[i + 1] : -1; }

int ml_offers_h2(const uint8_t *d, uint32_t len) {
  const int64_t end = len;
  if (u8at(d, end, HEADER) != HS_CLIENT_HELLO) return 0;
  int64_t l1 = u8at(d, end, HEADER + 1), l2 = u8at(d, end, HEADER + 2), l3 = u8at(d, end, HEADER + 3);
  if (l1 < 0 || l2 < 0 || l3 < 0) return 1;
  const int64_t hello_end = HEADER + 4 + ((l1 << 16) | (l2 << 8) | l3);
  int64_t i = HEADER + 4 + 2 + 32;
  int64_t sid = u8at(d, end, i);
  if (sid < 0) return 1;
  i += 1 + sid;
  int64_t suites = u16at(d, end, i);
  if (suites < 0) return 1;
  i += 2 + suites;
  int64_t methods = u8at(d, end, i);
  if (methods < 0) return 1;
  i += 1 + methods;
  if (i >= hello_end) return 0;
  int64_t ext_len = u16at(d, end, i);
  if (ext_len < 0) return 1;
  i += 2;
  const int64_t ext_end = i + ext_len;
  while (i + 4 <= ext_end) {
    int64_t type = u16at(d, end, i), l = u16at(d, end, i + 2);
    if (type < 0 || l < 0) return 1;
    if (type == EXT_ALPN) {
      int64_t j = i + 6;
      int64_t alpn_end = i + 4 + l < end ? i + 4 + l : end;
      while (j < alpn_end) {
        int64_t pl = u8at(d, end, j);
        if (pl == 2 && u8at(d, end, j + 1) == 0x68 && u8at(d, end, j + 2) == 0x32) return 1;
        if (pl < 0) return 1;
        j += 1 + pl;
      }
      return i + 4 + l > end;
    }
    i += 4 + l;
  }
  return 0;
}
