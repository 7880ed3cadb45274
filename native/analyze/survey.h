/*
 * The survey in C: src/flow/survey.ts's FlowSurvey with src/tls/record-walk.ts's observer, packet
 * for packet the same (the same hash keys, port-reuse rule, duplicate filter, endpoint states,
 * lifetimes and so end order, complex bits, marks, silences, SYN times), for the first pass of a
 * targeted analysis. It takes ml_segment (ml.h) one at a time and writes each ended connection as
 * a row in the layout below; the JavaScript (src/flow/survey-native.ts) turns rows into the
 * survey's records (src/flow/survey-records.ts), computing uids with node:crypto in row order.
 *
 * Memory: connection slots and the hash table grow by doubling; nothing is allocated per packet
 * once they are big enough. Rows go in chunks of SR_CHUNK_ROWS (layout below): only the chunk
 * being filled is in memory; each full one is written to a temporary file (created in the
 * directory ml_survey_set_spill_dir names and unlinked at once), whose descriptor the caller takes
 * over at the end. Where no file can be created or a write fails, that chunk and those after it
 * stay in memory (the same rows either way).
 */
#ifndef MIRRORLENS_SURVEY_H
#define MIRRORLENS_SURVEY_H

#include "ml.h"
#include "uid.h"

/* Doubles of a row (as SurveyRecords' F_* fields). */
enum {
  SR_F_START = 0, SR_F_LAST, SR_F_SYNACK, SR_F_MAXIDLE,
  SR_F_DIR = 4, /* per direction (client + 0, server + 5): bytes, FIN time, FIN idle, first and last new payload */
  SR_F_FIRST_PACKET = 14, SR_F_LAST_PACKET, SR_F_END_PACKET, SR_F_FIRST_OFFSET, SR_F_LAST_OFFSET,
  SR_NF = 19
};

/* 32-bit integers of a row (as SurveyRecords' I_* fields, but addresses raw and the point an id). */
enum {
  SR_I_KEY = 0,
  SR_I_CLIENT4, SR_I_SERVER4, /* IPv4 addresses (as src4/dst4), 0 for IPv6 */
  SR_I_PORTS,                 /* clientPort << 16 | serverPort */
  SR_I_DIR = 4,               /* per direction (client + 0, server + 3): packets, SYNs, ISN */
  SR_I_FLAGS = 10,            /* SurveyRecords' I_FLAGS bits */
  SR_I_COMPLEX, SR_I_POINT, SR_I_PREV, SR_I_INPUTS,
  SR_I_EXTRA, SR_I_NSYN, SR_I_NGAPS, /* SYN times then silences (start, end, seconds) at extra[SR_I_EXTRA] */
  SR_I_A6,                    /* IPv6: the pair's eight words at a6[SR_I_A6] (client 0..3, server 4..7); -1 IPv4 */
  SR_I_TAG,
  SR_NI = 20
};

/*
 * A chunk of rows, in memory and in the spill file alike (chunk k at k * SR_CHUNK_BYTES): the
 * rows' doubles, then their integers, then their uids (ML_UID_LEN bytes a row, uid.h; a row whose
 * first byte is 0 has none: JavaScript computes it).
 */
#define SR_CHUNK_ROWS 1024
#define SR_CHUNK_F 0
#define SR_CHUNK_I (SR_CHUNK_ROWS * SR_NF * 8)
#define SR_CHUNK_U (SR_CHUNK_I + SR_CHUNK_ROWS * SR_NI * 4)
#define SR_CHUNK_BYTES (SR_CHUNK_U + SR_CHUNK_ROWS * ML_UID_LEN)

/* Stats (FlowStats' fields the survey counts), in this order in ml_survey_stats. */
enum { SS_TCP = 0, SS_DUPLICATES, SS_CONNECTIONS, SS_ACTIVE, SS_PEAK, SS_EVICTED, SS_TIMED_OUT, SS_N };

typedef struct ml_survey_opts {
  double idle_timeout;   /* idleTimeoutSeconds (6000) */
  double gap_threshold;  /* idleGapThresholdSeconds (30) */
  double max_connections;/* maxConnections (2 000 000) */
  double dup_window;     /* duplicateWindowSeconds (0.1) */
  double linger;         /* closeLingerSeconds (5) */
  int per_point;         /* perCapturePoint */
  int observe_tls;       /* run the TLS record walk (observeTls) */
} ml_survey_opts;

typedef struct ml_survey ml_survey;

/* NULL when out of memory. */
ml_survey *ml_survey_new(const ml_survey_opts *opts);
void ml_survey_free(ml_survey *s);
/* Where full chunks of rows are written (a copy is kept); NULL or never called: they stay in memory. 0 on success. */
int ml_survey_set_spill_dir(ml_survey *s, const char *dir);
/* Capture point `id`: the strHash of its name, and the name (UTF-8, for uids in per-point mode); ids not set are ''. 0 on success. */
int ml_survey_set_point(ml_survey *s, int32_t id, int32_t hash, const char *name, uint32_t len);
/* One TCP segment (FlowSurvey.at + ingestSegment). 0 on success, -1 out of memory (the survey is then unusable). */
int ml_survey_segment(ml_survey *s, const ml_segment *seg);
/* The capture ended; `last_packet`: the number of the last packet at() was given (-1 none). */
int ml_survey_finish(ml_survey *s, int64_t last_packet);

/*
 * The result (valid until ml_survey_free). Rows 0 .. spilled * SR_CHUNK_ROWS - 1 are in the spill
 * file (chunks 0 .. spilled - 1); the others in the chunks kept in memory, in order, the last one
 * partly filled.
 */
int64_t ml_survey_rows(const ml_survey *s);
/* The spill file's descriptor (-1: none) and how many chunks it holds. */
int ml_survey_spill_fd(const ml_survey *s);
int64_t ml_survey_spilled(const ml_survey *s);
/* Chunks in memory (after the spilled ones); chunk k's bytes (SR_CHUNK_BYTES layout) and its rows. */
int64_t ml_survey_memory_chunks(const ml_survey *s);
const uint8_t *ml_survey_memory_chunk(const ml_survey *s, int64_t k, int64_t *rows);
/* The caller now owns the spill file's descriptor (ml_survey_free no longer closes it). */
void ml_survey_release_spill(ml_survey *s);
const double *ml_survey_extra(const ml_survey *s, int64_t *n);
const int32_t *ml_survey_a6(const ml_survey *s, int64_t *n);
const double *ml_survey_stats(const ml_survey *s);

/* The TLS record walk (tls-walk.c), per connection. */
typedef struct ml_tls_walk {
  uint32_t left[2];
  uint8_t got[2];
  uint8_t head[10];
  uint8_t encrypted[2];
} ml_tls_walk;

/* Follows `len` bytes of direction `dir`; returns Complex bits to add (0 when all is well). */
int32_t ml_tls_walk_bytes(ml_tls_walk *w, int dir, const uint8_t *d, uint32_t len);
/* Whether the ClientHello starting this first client segment offers ALPN "h2" (offersH2). */
int ml_offers_h2(const uint8_t *d, uint32_t n);

#endif
