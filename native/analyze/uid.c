/*
 * Connection uids in C (src/flow/identity.ts connectionUid), so that the first pass's rows come
 * back with their uids computed on the worker thread: "C" + 18 base-62 digits of the first 96
 * bits of SHA-1 over the text
 *
 *     capturePoint|clientAddr|clientPort|serverAddr|serverPort|startTime.toFixed(6)|previousUid
 *
 * SHA-1 is OpenSSL's (EVP_Digest), the one node:crypto uses, exported by the node binary: nothing
 * hand-rolled. The text is made exactly as the JavaScript makes it: dotted quads, RFC 5952 IPv6
 * text (flow/wire ipv6ToString), decimal ports, and Number.prototype.toFixed(6), whose rounding
 * differs from printf's on exact ties (toFixed takes the larger; printf the even): handled. A start
 * time toFixed writes in exponent form (|t| >= 1e21) or not finite is left to the JavaScript
 * (ml_uid returns -1).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include "uid.h"

static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Number.prototype.toFixed(6) of x into out (at most 40 bytes); its length, -1 when JavaScript would write an exponent or x is not finite. */
static int to_fixed6(double x, char *out) {
  if (!isfinite(x) || fabs(x) >= 1e21) return -1;
  int neg = x < 0; /* -0 is not < 0: "0.000000", as JavaScript */
  double a = neg ? -x : x;
  char buf[128];
  int n = snprintf(buf, sizeof buf, "%.6f", a);
  if (n < 0 || n >= (int)sizeof buf) return -1;
  /* An exact tie (a * 10^6 ends in exactly .5) needs a >= 2^-7, whose exact decimal has at most
   * 59 fractional digits: printed exactly at 64, a tie shows as 5 then zeros after 6 digits. */
  if (a >= 0.0078125) {
    char ex[160];
    int m = snprintf(ex, sizeof ex, "%.64f", a);
    if (m < 0 || m >= (int)sizeof ex) return -1;
    const char *dot = strchr(ex, '.');
    if (dot && dot[7] == '5') {
      int tie = 1;
      for (const char *p = dot + 8; *p; p++)
        if (*p != '0') tie = 0;
      if (tie) {
        /* JavaScript takes the larger n: the truncated digits plus one unit in the sixth place */
        memcpy(buf, ex, (size_t)(dot - ex) + 7);
        n = (int)(dot - ex) + 7;
        buf[n] = 0;
        int i = n - 1;
        for (; i >= 0; i--) {
          if (buf[i] == '.') continue;
          if (buf[i] == '9') buf[i] = '0';
          else {
            buf[i]++;
            break;
          }
        }
        if (i < 0) {
          memmove(buf + 1, buf, (size_t)n + 1);
          buf[0] = '1';
          n++;
        }
      }
    }
  }
  int k = 0;
  if (neg) out[k++] = '-';
  memcpy(out + k, buf, (size_t)n);
  return k + n;
}

/* flow/wire ipv6ToString: RFC 5952 (lower case, longest zero run >= 2 leftmost as "::", ::ffff:a.b.c.d). */
static int v6_text(const int32_t w[4], char *out) {
  uint8_t b[16];
  for (int i = 0; i < 4; i++) {
    uint32_t v = (uint32_t)w[i];
    b[i * 4] = (uint8_t)(v >> 24);
    b[i * 4 + 1] = (uint8_t)(v >> 16);
    b[i * 4 + 2] = (uint8_t)(v >> 8);
    b[i * 4 + 3] = (uint8_t)v;
  }
  unsigned g[8];
  for (int i = 0; i < 8; i++) g[i] = ((unsigned)b[2 * i] << 8) | b[2 * i + 1];
  if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff) return sprintf(out, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  int best_start = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  int n = 0;
  for (int i = 0; i < 8; i++) {
    if (i == best_start) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len - 1;
      continue;
    }
    if (n > 0 && out[n - 1] != ':') out[n++] = ':';
    n += sprintf(out + n, "%x", g[i]);
  }
  out[n] = 0;
  return n;
}

static int v4_text(uint32_t a, char *out) { return sprintf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff); }

int ml_uid(const ml_uid_input *u, char out[ML_UID_LEN]) {
  /* point (<= 4 KiB, else the JavaScript does it) | 2 addresses (<= 45 each) | ports | time (<= 30) | previous uid (19) */
  char text[4096 + 256];
  if (u->point_len > 4096) return -1;
  size_t n = 0;
  memcpy(text, u->point, u->point_len);
  n += u->point_len;
  text[n++] = '|';
  n += (size_t)(u->ip_version == 4 ? v4_text(u->c4, text + n) : v6_text(u->a6, text + n));
  n += (size_t)sprintf(text + n, "|%u|", u->cport);
  n += (size_t)(u->ip_version == 4 ? v4_text(u->s4, text + n) : v6_text(u->a6 + 4, text + n));
  n += (size_t)sprintf(text + n, "|%u|", u->sport);
  int t = to_fixed6(u->start, text + n);
  if (t < 0) return -1;
  n += (size_t)t;
  text[n++] = '|';
  if (u->prev) {
    memcpy(text + n, u->prev, ML_UID_LEN);
    n += ML_UID_LEN;
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  if (EVP_Digest(text, n, d, &dl, EVP_sha1(), NULL) != 1 || dl < 12) return -1;
  out[0] = 'C';
  int at = 1;
  for (int w = 0; w < 3; w++) {
    uint32_t v = ((uint32_t)d[w * 4] << 24) | ((uint32_t)d[w * 4 + 1] << 16) | ((uint32_t)d[w * 4 + 2] << 8) | d[w * 4 + 3];
    for (int i = 0; i < 6; i++) {
      out[at++] = BASE62[v % 62];
      v /= 62;
    }
  }
  return 0;
}
