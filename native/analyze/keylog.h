/*
 * The line check of a TLS key log (src/tls/keylog.ts readText) in C: which lines are well-formed
 * (keylog-secrets.ts wellFormedLine: `LABEL SP 64 hex SP secret`, nothing around it) and where
 * every other non-empty line is, so that the JavaScript hands the well-formed lines to its
 * PendingLines in bulk and reads only the others itself (their issues, their other shapes).
 *
 * The result is an Int32Array (src/tls/keylog-native.ts reads it):
 *
 *   [0] resume: the offset where the walk stopped, the array being full, or -1 when the text is
 *       done (the arrays handed to JavaScript are always done)
 *   [1] well-formed lines found: their (start, end) pairs at [KL_HDR, KL_HDR + 2 * n)
 *   [2] other lines found (not empty): records of KL_REC numbers each, the k-th (0-based) at
 *       [length - KL_REC * (k + 1), ...): start, end, line (0-based, counted from where the walk
 *       began), well-formed lines before it, their characters
 *   [3] characters of the well-formed lines
 *   [4] lines walked (empty ones included)
 *
 * Offsets are the text's (its characters = the bytes, one each). Lines end in CRLF, CR or LF
 * exactly as LineWalk ends them.
 */
#ifndef MIRRORLENS_KEYLOG_H
#define MIRRORLENS_KEYLOG_H

#include <stdint.h>
#include <stddef.h>
#include <node_api.h>

#define KL_HDR 5
#define KL_REC 5

/* Walks the lines of p[from, n) into out[0, cap) (cap >= KL_HDR + KL_REC); see above. n must be below 2^31. Returns out[0]. */
int32_t ml_keylog_lines(const uint8_t *p, size_t n, size_t from, int32_t *out, size_t cap);

/*
 * The check of a Decryption Secrets Block's key log text (KeyLog.addDsb: its bytes as latin1,
 * from after a UTF-8 byte order mark), in one array of its exact size, malloc'ed (*out; free it):
 * 0, or 1 when the JavaScript must read it itself (a UTF-16 byte order mark, too large), or -1
 * when out of memory.
 */
int ml_keylog_dsb_lines(const uint8_t *p, size_t n, int32_t **out, size_t *len);

/*
 * The checks of a read's TLS key log Decryption Secrets Blocks (type "TLSK"), made on the
 * threadpool after the native first pass: lines[i] for the reader's dsbs[i], NULL when not made
 * (another type, UTF-16, out of memory: the JavaScript reads that block itself).
 */
typedef struct ml_keylog_dsbs {
  int n;
  int32_t **lines;
  size_t *lens;
} ml_keylog_dsbs;

struct ml_read_result;
/* Checks every TLS key log block of `r` into `d` (zeroed before; ml_keylog_dsbs_free after, always). */
void ml_keylog_check_dsbs(const struct ml_read_result *r, ml_keylog_dsbs *d);
/* Sets `lines` (an Int32Array) on each checked block of read.dsbs (ml_read_result_js's object); 0 on success. */
int ml_keylog_attach_dsbs(napi_env env, napi_value read, const ml_keylog_dsbs *d);
void ml_keylog_dsbs_free(ml_keylog_dsbs *d);

/* Registers keyLogLines(text, from, oneByte, out) (keylog.c) and keyLogDsbLines(bytes) (for tests). */
int ml_register_keylog(napi_env env, napi_value exports);

#endif
