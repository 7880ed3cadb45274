/*
 * The survey in C (see survey.h): src/flow/survey.ts's FlowSurvey line for line. Connections live
 * in a slot array (indices, not pointers: it grows by realloc), chained per hash bucket, and on
 * two lists in the order the JavaScript keeps them (active: by last packet; closed: by when the
 * close was seen), so that they end in the same order. Numbers are computed as the JavaScript
 * computes them: hashes in 32-bit wrapping arithmetic (Math.imul, | 0), times as doubles.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "survey.h"
#include "uid.h"

#define FIN 1
#define SYN 2
#define RST 4
#define ACK 16

#define LIST_NONE 0
#define LIST_ACTIVE 1
#define LIST_CLOSED 2

/* Complex bits (survey.ts Complex). */
#define CX_MIDSTREAM 1
#define CX_SYN_RETRY 2
#define CX_RST 8
#define CX_FIN_REQ 16
#define CX_NOT_CLOSED 32
#define CX_OUT_OF_ORDER 64
#define CX_TRUNCATED 128
#define CX_KEEPALIVE 256
#define CX_ACKED_UNSEEN 512
#define CX_MANY_MARKS 1024
#define CX_DATA_AFTER_FIN 2048
#define CX_SYN_DATA 16384
#define CX_HTTP2 32768

#define MARKS_SIMPLE 48
#define MAX_IDLE_GAPS 100
#define MAX_SYN_TIMES 16
#define TAG_TLS 1

/* Endpoint states (conn-state.ts Ep). */
enum { EP_INACTIVE, EP_SYN_SENT, EP_SYNACK_SENT, EP_PARTIAL, EP_ESTABLISHED, EP_CLOSED, EP_RESET };

/* End causes (SurveyRecords' END_CAUSES order) and phases (survey.ts END_*). */
enum { END_CLOSED, END_TIMEOUT, END_CAPTURE_END, END_EVICTED, END_PORT_REUSE };
enum { PH_CLOCK, PH_AT_PACKET, PH_FINISH };

typedef struct endpoint {
  int state;
  int32_t packets, syn_count, isn, base_seq, next_seq, last_ack;
  uint8_t initialized, next_valid, last_ack_valid, fin_seen;
  double payload_bytes, fin_time, fin_idle, first_pay, last_pay;
} endpoint;

typedef struct conn {
  endpoint ep[2]; /* client, server */
  int32_t bucket_next, prev, next;
  int list;
  int ip_version;
  uint32_t c4, s4;
  int32_t a6[8];
  uint32_t cport, sport;
  double start, last, linger_from, synack, max_idle;
  uint8_t closed, established, refused, midstream, observing, walking;
  double syn_times[MAX_SYN_TIMES];
  int n_syn;
  double *gaps;    /* silences: start, end, seconds (the first MAX_IDLE_GAPS; made at the slot's first, kept with the slot) */
  int n_gaps;
  int awaiting, last_pay_dir, closed_by, close_how;
  int32_t marks, complex, tag, point, key;
  int32_t prev_row;
  char prev_uid[ML_UID_LEN]; /* the replaced connection's uid (its row may be in the spill file by the time this one ends) */
  double first_packet, last_packet, first_offset, last_offset;
  int32_t first_input, last_input;
  ml_tls_walk walk;
} conn;

struct ml_survey {
  ml_survey_opts o;
  conn *c;
  int32_t nc, cap_c;     /* slots used, allocated */
  int32_t *spare;        /* free slots (a stack) */
  int32_t nspare;
  int32_t *heads;
  int32_t nheads, indexed;
  int32_t ahead, atail, chead, ctail;
  uint64_t *dkeys;
  double *dtimes;
  double clock;
  int64_t packet;
  int32_t input;
  double offset;
  int phase, finished;
  int64_t ended;
  int32_t *point_hash;
  char **point_name;     /* names (for uids in per-point mode), by id */
  uint32_t *point_len;
  int32_t npoints;
  double stats[SS_N];
  /* rows: the chunk being filled; full chunks in the spill file, or (none could be written) kept */
  uint8_t *chunk;
  int64_t rows;
  char *spill_dir;       /* NULL: chunks stay in memory */
  int spill_fd;          /* -1: not created (yet) */
  int spill_failed;      /* no file could be made or written: every chunk from now on stays in memory */
  int64_t spilled;       /* chunks in the file (0 .. spilled - 1) */
  uint8_t **kept;        /* full chunks kept in memory, after the spilled ones */
  int64_t nkept, cap_kept;
  char last_uid[ML_UID_LEN]; /* the uid of the last row added */
  double *extra;
  int64_t nextra, cap_extra;
  int32_t *a6;
  int64_t na6, cap_a6;
};

#define DUP_BITS 16
#define DUP_BYTES (((size_t)1 << DUP_BITS) * (sizeof(uint64_t) + sizeof(double)))

static int32_t mix32(int32_t h, int32_t v) {
  uint32_t x = (uint32_t)h ^ (uint32_t)v;
  x *= 0x5bd1e995u;
  return (int32_t)(x ^ (x >> 15));
}

static int32_t addr_hash(const ml_segment *g, int src) {
  if (g->ip_version == 4) return mix32(0x1234567, (int32_t)(src ? g->src4 : g->dst4));
  const uint8_t *d = src ? g->src6 : g->dst6;
  int32_t h = 0x7654321;
  for (int i = 0; i < 16; i += 4) h = mix32(h, (int32_t)(((uint32_t)d[i] << 24) | ((uint32_t)d[i + 1] << 16) | ((uint32_t)d[i + 2] << 8) | d[i + 3]));
  return h;
}

static int32_t word6(const uint8_t *d, int i) {
  return (int32_t)(((uint32_t)d[i] << 24) | ((uint32_t)d[i + 1] << 16) | ((uint32_t)d[i + 2] << 8) | d[i + 3]);
}

static int seq_gt(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b) > 0; }
static int seq_le(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b) <= 0; }
static int32_t add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/*
 * A chunk of rows is mapped, not malloc'ed: glibc raises its mmap threshold to the size of the
 * largest mmapped block it frees (up to 32 MiB), after which smaller blocks come from the heap and
 * are seldom given back; a chunk (251 KiB) freed through free() would raise it for the whole
 * process.
 */
static uint8_t *chunk_new(void) {
  void *p = mmap(NULL, SR_CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void chunk_free(uint8_t *p) {
  if (p) munmap(p, SR_CHUNK_BYTES);
}

ml_survey *ml_survey_new(const ml_survey_opts *opts) {
  ml_survey *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->o = *opts;
  s->nheads = 1024;
  s->heads = malloc(sizeof(int32_t) * (size_t)s->nheads);
  /* the duplicate filter's two tables (1 MiB) mapped, zeroed, for the same reason as the chunks */
  void *dup = mmap(NULL, DUP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (dup != MAP_FAILED) {
    s->dkeys = dup;
    s->dtimes = (double *)((uint8_t *)dup + ((size_t)1 << DUP_BITS) * sizeof(uint64_t));
  }
  if (!s->heads || !s->dkeys) {
    ml_survey_free(s);
    return NULL;
  }
  for (int32_t i = 0; i < s->nheads; i++) s->heads[i] = -1;
  s->ahead = s->atail = s->chead = s->ctail = -1;
  s->spill_fd = -1;
  s->clock = -INFINITY;
  s->packet = -1;
  return s;
}

void ml_survey_free(ml_survey *s) {
  if (!s) return;
  for (int32_t i = 0; i < s->nc; i++) free(s->c[i].gaps);
  if (s->c) munmap(s->c, sizeof(conn) * (size_t)s->cap_c);
  free(s->spare);
  free(s->heads);
  if (s->dkeys) munmap(s->dkeys, DUP_BYTES);
  for (int32_t i = 0; i < s->npoints; i++) free(s->point_name[i]);
  free(s->point_name);
  free(s->point_len);
  free(s->point_hash);
  chunk_free(s->chunk);
  for (int64_t k = 0; k < s->nkept; k++) chunk_free(s->kept[k]);
  free(s->kept);
  if (s->spill_fd >= 0) close(s->spill_fd);
  free(s->spill_dir);
  free(s->extra);
  free(s->a6);
  free(s);
}

int ml_survey_set_spill_dir(ml_survey *s, const char *dir) {
  free(s->spill_dir);
  s->spill_dir = NULL;
  if (dir == NULL || dir[0] == 0) return 0;
  s->spill_dir = strdup(dir);
  return s->spill_dir ? 0 : -1;
}

int ml_survey_set_point(ml_survey *s, int32_t id, int32_t hash, const char *name, uint32_t len) {
  if (id < 0) return -1;
  if (id >= s->npoints) {
    int32_t n = id + 16;
    int32_t *p = realloc(s->point_hash, sizeof(int32_t) * (size_t)n);
    if (!p) return -1;
    s->point_hash = p;
    char **pn = realloc(s->point_name, sizeof(char *) * (size_t)n);
    if (!pn) return -1;
    s->point_name = pn;
    uint32_t *pl = realloc(s->point_len, sizeof(uint32_t) * (size_t)n);
    if (!pl) return -1;
    s->point_len = pl;
    for (int32_t i = s->npoints; i < n; i++) {
      p[i] = (int32_t)0x811c9dc5; /* strHash('') */
      pn[i] = NULL;
      pl[i] = 0;
    }
    s->npoints = n;
  }
  s->point_hash[id] = hash;
  free(s->point_name[id]);
  s->point_name[id] = NULL;
  s->point_len[id] = 0;
  if (len > 0) {
    if (!(s->point_name[id] = malloc(len))) return -1;
    memcpy(s->point_name[id], name, len);
    s->point_len[id] = len;
  }
  return 0;
}

static int32_t point_hash(const ml_survey *s, int32_t id) {
  return id >= 0 && id < s->npoints ? s->point_hash[id] : (int32_t)0x811c9dc5;
}

/* ---- lists (survey.ts listAppend / listRemove) ---- */

static void list_append(ml_survey *s, int32_t i, int list) {
  conn *c = &s->c[i];
  int32_t *head = list == LIST_ACTIVE ? &s->ahead : &s->chead;
  int32_t *tail = list == LIST_ACTIVE ? &s->atail : &s->ctail;
  c->list = list;
  c->next = -1;
  c->prev = *tail;
  if (*tail >= 0) s->c[*tail].next = i;
  else *head = i;
  *tail = i;
}

static void list_remove(ml_survey *s, int32_t i) {
  conn *c = &s->c[i];
  if (c->list == LIST_NONE) return;
  int32_t *head = c->list == LIST_ACTIVE ? &s->ahead : &s->chead;
  int32_t *tail = c->list == LIST_ACTIVE ? &s->atail : &s->ctail;
  if (c->prev >= 0) s->c[c->prev].next = c->next;
  else *head = c->next;
  if (c->next >= 0) s->c[c->next].prev = c->prev;
  else *tail = c->prev;
  c->prev = c->next = -1;
  c->list = LIST_NONE;
}

/* ---- the hash index ---- */

static void unindex(ml_survey *s, int32_t i) {
  int32_t b = s->c[i].key & (s->nheads - 1);
  int32_t *p = &s->heads[b];
  while (*p >= 0 && *p != i) p = &s->c[*p].bucket_next;
  if (*p < 0) return;
  *p = s->c[i].bucket_next;
  s->c[i].bucket_next = -1;
  s->indexed--;
}

static int grow_heads(ml_survey *s) {
  int32_t n = s->nheads * 2;
  int32_t *h = malloc(sizeof(int32_t) * (size_t)n);
  if (!h) return -1;
  for (int32_t i = 0; i < n; i++) h[i] = -1;
  for (int32_t b = 0; b < s->nheads; b++) {
    for (int32_t i = s->heads[b]; i >= 0;) {
      int32_t next = s->c[i].bucket_next;
      int32_t nb = s->c[i].key & (n - 1);
      s->c[i].bucket_next = h[nb];
      h[nb] = i;
      i = next;
    }
  }
  free(s->heads);
  s->heads = h;
  s->nheads = n;
  return 0;
}

/* ---- rows ---- */

static int reserve(void **p, int64_t *cap, int64_t need, size_t size) {
  if (need <= *cap) return 0;
  int64_t n = *cap > 0 ? *cap : 256;
  while (n < need) n *= 2;
  void *q = realloc(*p, (size_t)n * size);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* The spill file: created in spill_dir (O_CLOEXEC, mode 0600) and unlinked at once; 0, or -1 when it cannot be. */
static int spill_open(ml_survey *s) {
  if (s->spill_dir == NULL) return -1;
  size_t n = strlen(s->spill_dir) + 64;
  char *path = malloc(n);
  if (!path) return -1;
  snprintf(path, n, "%s/mirrorlens-native-rows-%d-XXXXXX", s->spill_dir, (int)getpid());
  int fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0) unlink(path); /* (if it fails, the name stays for the system's temporary-file cleaning: connection facts, no secrets) */
  free(path);
  if (fd < 0) return -1;
  s->spill_fd = fd;
  return 0;
}

/* Writes the full chunk being filled as chunk s->spilled of the file; 0, -1 when it could not. */
static int spill_write(ml_survey *s) {
  if (s->spill_fd < 0 && spill_open(s) != 0) return -1;
  const uint8_t *p = s->chunk;
  size_t left = SR_CHUNK_BYTES;
  off_t at = (off_t)s->spilled * SR_CHUNK_BYTES;
  while (left > 0) {
    ssize_t n = pwrite(s->spill_fd, p, left, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    left -= (size_t)n;
    at += n;
  }
  s->spilled++;
  return 0;
}

/* The chunk being filled is full: to the spill file (its buffer reused), or kept in memory. 0, -1 out of memory. */
static int seal_chunk(ml_survey *s) {
  if (!s->spill_failed && spill_write(s) == 0) return 0;
  if (!s->spill_failed) {
    s->spill_failed = 1;
    if (s->spilled == 0 && s->spill_fd >= 0) {
      close(s->spill_fd);
      s->spill_fd = -1;
    }
  }
  if (s->nkept == s->cap_kept) {
    int64_t n = s->cap_kept > 0 ? s->cap_kept * 2 : 16;
    uint8_t **k = realloc(s->kept, sizeof *k * (size_t)n);
    if (!k) return -1;
    s->kept = k;
    s->cap_kept = n;
  }
  s->kept[s->nkept++] = s->chunk;
  s->chunk = NULL;
  return 0;
}

/* Writes connection i as the next row (SurveyRecords.add); returns the row, -1 out of memory. */
static int64_t add_row(ml_survey *s, int32_t i, int cause) {
  conn *c = &s->c[i];
  int64_t row = s->rows;
  int64_t at = row % SR_CHUNK_ROWS;
  if (at == 0 && row > 0 && seal_chunk(s) != 0) return -1;
  if (!s->chunk && !(s->chunk = chunk_new())) return -1;
  int32_t ngaps = c->n_gaps;
  if (reserve((void **)&s->extra, &s->cap_extra, s->nextra + c->n_syn + ngaps * 3, sizeof(double)) != 0) return -1;
  if (c->ip_version == 6 && reserve((void **)&s->a6, &s->cap_a6, s->na6 + 8, sizeof(int32_t)) != 0) return -1;
  double *F = (double *)(s->chunk + SR_CHUNK_F) + at * SR_NF;
  int32_t *I = (int32_t *)(s->chunk + SR_CHUNK_I) + at * SR_NI;
  F[SR_F_START] = c->start;
  F[SR_F_LAST] = c->last;
  F[SR_F_SYNACK] = c->synack;
  F[SR_F_MAXIDLE] = c->max_idle;
  for (int d = 0; d < 2; d++) {
    const endpoint *e = &c->ep[d];
    double *fd = F + SR_F_DIR + d * 5;
    fd[0] = e->payload_bytes;
    fd[1] = e->fin_time;
    fd[2] = e->fin_idle;
    fd[3] = e->first_pay;
    fd[4] = e->last_pay;
    int32_t *id = I + SR_I_DIR + d * 3;
    id[0] = e->packets;
    id[1] = e->syn_count;
    id[2] = e->isn;
  }
  F[SR_F_FIRST_PACKET] = c->first_packet;
  F[SR_F_LAST_PACKET] = c->last_packet;
  F[SR_F_END_PACKET] = (double)(s->finished || s->phase == PH_FINISH ? s->packet + 1 : s->packet);
  F[SR_F_FIRST_OFFSET] = c->first_offset;
  F[SR_F_LAST_OFFSET] = c->last_offset;
  I[SR_I_KEY] = c->key;
  I[SR_I_CLIENT4] = c->ip_version == 4 ? (int32_t)c->c4 : 0;
  I[SR_I_SERVER4] = c->ip_version == 4 ? (int32_t)c->s4 : 0;
  I[SR_I_PORTS] = (int32_t)((c->cport << 16) | c->sport);
  I[SR_I_FLAGS] = (c->midstream ? 1 : 0) | (c->refused ? 2 : 0) | (c->ep[0].fin_seen ? 4 : 0) | (c->ep[1].fin_seen ? 8 : 0) |
                  ((c->closed_by + 1) << 4) | (c->close_how << 6) | (cause << 8) | (s->phase << 12);
  I[SR_I_COMPLEX] = c->complex;
  I[SR_I_POINT] = c->point;
  I[SR_I_PREV] = c->prev_row;
  I[SR_I_INPUTS] = (int32_t)(((uint32_t)c->first_input << 16) | ((uint32_t)c->last_input & 0xffff));
  I[SR_I_EXTRA] = (int32_t)s->nextra;
  I[SR_I_NSYN] = c->n_syn;
  I[SR_I_NGAPS] = ngaps;
  for (int k = 0; k < c->n_syn; k++) s->extra[s->nextra++] = c->syn_times[k];
  if (ngaps > 0) {
    memcpy(s->extra + s->nextra, c->gaps, sizeof(double) * (size_t)ngaps * 3);
    s->nextra += ngaps * 3;
  }
  if (c->ip_version == 6) {
    I[SR_I_A6] = (int32_t)s->na6;
    memcpy(s->a6 + s->na6, c->a6, sizeof c->a6);
    s->na6 += 8;
  } else {
    I[SR_I_A6] = -1;
  }
  I[SR_I_TAG] = c->tag;
  /* its uid (uid.c), over the uid of the connection it replaced when it has one */
  char *uid = (char *)s->chunk + SR_CHUNK_U + at * ML_UID_LEN;
  const char *prev = c->prev_row >= 0 ? c->prev_uid : NULL;
  int pp = s->o.per_point && c->point >= 0 && c->point < s->npoints;
  ml_uid_input u = {pp && s->point_name[c->point] ? s->point_name[c->point] : "", pp ? s->point_len[c->point] : 0, c->ip_version, c->c4, c->s4, c->a6,
                    c->cport, c->sport, c->start, prev};
  if ((prev && prev[0] == 0) || ml_uid(&u, uid) != 0) uid[0] = 0;
  memcpy(s->last_uid, uid, ML_UID_LEN);
  s->rows++;
  return row;
}

/* Ends connection i (survey.ts end): returns its row, -1 out of memory. */
static int64_t end_conn(ml_survey *s, int32_t i, int cause) {
  conn *c = &s->c[i];
  list_remove(s, i);
  unindex(s, i);
  s->stats[SS_ACTIVE]--;
  if (cause != END_CLOSED) c->complex |= CX_NOT_CLOSED;
  s->ended++;
  int64_t row = add_row(s, i, cause);
  if (row < 0) return -1;
  s->spare[s->nspare++] = i;
  return row;
}

/* ---- the clock ---- */

static int expire(ml_survey *s, double time) {
  s->phase = PH_CLOCK;
  while (s->ahead >= 0 && time - s->c[s->ahead].last > s->o.idle_timeout) {
    s->stats[SS_TIMED_OUT]++;
    if (end_conn(s, s->ahead, END_TIMEOUT) < 0) return -1;
  }
  while (s->chead >= 0 && time - s->c[s->chead].linger_from > s->o.linger) {
    int32_t i = s->chead;
    conn *c = &s->c[i];
    if (time - c->last <= s->o.linger) {
      c->linger_from = c->last;
      list_remove(s, i);
      list_append(s, i, LIST_CLOSED);
      continue;
    }
    if (end_conn(s, i, END_CLOSED) < 0) return -1;
  }
  return 0;
}

static int expiry_due(const ml_survey *s, double time) {
  return (s->ahead >= 0 && time - s->c[s->ahead].last > s->o.idle_timeout) || (s->chead >= 0 && time - s->c[s->chead].linger_from > s->o.linger);
}

int ml_survey_finish(ml_survey *s, int64_t last_packet) {
  if (s->finished) return 0;
  s->packet = last_packet;
  s->phase = PH_FINISH;
  while (s->chead >= 0)
    if (end_conn(s, s->chead, END_CLOSED) < 0) return -1;
  while (s->ahead >= 0)
    if (end_conn(s, s->ahead, END_CAPTURE_END) < 0) return -1;
  s->finished = 1;
  return 0;
}

/* ---- matching ---- */

/* 0: the segment is client -> server of connection c, 1: server -> client, -1: neither (SurveyConn.match). */
static int match(const conn *c, const ml_segment *g) {
  if (g->ip_version != c->ip_version) return -1;
  if (g->ip_version == 4) {
    if (g->src4 == c->c4 && g->dst4 == c->s4 && g->src_port == c->cport && g->dst_port == c->sport) return 0;
    if (g->src4 == c->s4 && g->dst4 == c->c4 && g->src_port == c->sport && g->dst_port == c->cport) return 1;
    return -1;
  }
  int sc = 1, ds = 1, ss = 1, dc = 1;
  for (int k = 0; k < 4; k++) {
    int32_t sw = word6(g->src6, k * 4), dw = word6(g->dst6, k * 4);
    if (sw != c->a6[k]) sc = 0;
    if (dw != c->a6[4 + k]) ds = 0;
    if (sw != c->a6[4 + k]) ss = 0;
    if (dw != c->a6[k]) dc = 0;
  }
  if (g->src_port == c->cport && g->dst_port == c->sport && sc && ds) return 0;
  if (g->src_port == c->sport && g->dst_port == c->cport && ss && dc) return 1;
  return -1;
}

/* identity.ts guessClientIsSrc / clientIsSource */
static int client_is_source(const ml_segment *g) {
  uint32_t f = g->flags, sp = g->src_port, dp = g->dst_port;
  if (f & SYN) return (f & ACK) == 0;
  int sw = sp < 1024, dw = dp < 1024;
  if (dw && !sw) return 1;
  if (sw && !dw) return 0;
  if (sp >= 32768 && dp < 32768) return 1;
  if (dp >= 32768 && sp < 32768) return 0;
  return 1;
}

/* identity.ts isReuse */
static int is_reuse(const conn *c, const ml_segment *g, int dir) {
  const endpoint *ep = &c->ep[dir];
  const endpoint *peer = &c->ep[1 - dir];
  int32_t seq = (int32_t)g->seq;
  if (ep->syn_count > 0 && ep->isn == seq) return 0;
  if (ep->syn_count == 0 && ep->initialized && ep->base_seq == add32(seq, 1)) return 0;
  if (ep->syn_count == 0 && peer->syn_count > 0 && peer->last_ack_valid && peer->last_ack == add32(seq, 1)) return 0;
  if ((g->flags & ACK) && peer->syn_count > 0 && (int32_t)g->ack == add32(peer->isn, 1)) return 0;
  if (c->closed) return 1;
  if (g->flags & ACK) return 0;
  if (dir == 0 && c->ep[0].syn_count > 0) return 1;
  return dir == 0 && c->established;
}

static void ep_reset(endpoint *e) {
  memset(e, 0, sizeof *e);
  e->state = EP_INACTIVE;
  e->fin_time = e->fin_idle = e->first_pay = e->last_pay = NAN;
}

/* survey.ts create: -1 out of memory, else the slot. */
static int32_t create(ml_survey *s, const ml_segment *g, int32_t key, int32_t prev_row, const char *prev_uid) {
  if (s->stats[SS_ACTIVE] >= s->o.max_connections) {
    int32_t victim = s->chead >= 0 ? s->chead : s->ahead;
    if (victim >= 0) {
      s->stats[SS_EVICTED]++;
      if (end_conn(s, victim, END_EVICTED) < 0) return -1;
    }
  }
  int32_t i;
  if (s->nspare > 0) i = s->spare[--s->nspare];
  else {
    if (s->nc == s->cap_c) {
      int32_t n = s->cap_c > 0 ? s->cap_c * 2 : 1024;
      int32_t *sp = realloc(s->spare, sizeof(int32_t) * (size_t)n);
      if (!sp) return -1;
      s->spare = sp;
      /* (mapped, as the chunks: 1 024 slots are half a megabyte) */
      void *m = s->c ? mremap(s->c, sizeof(conn) * (size_t)s->cap_c, sizeof(conn) * (size_t)n, MREMAP_MAYMOVE)
                     : mmap(NULL, sizeof(conn) * (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) return -1;
      s->c = m;
      s->cap_c = n;
    }
    i = s->nc++;
    s->c[i].gaps = NULL;
  }
  conn *c = &s->c[i];
  int cis = client_is_source(g);
  double *gaps = c->gaps;
  memset(c, 0, sizeof *c);
  c->gaps = gaps;
  ep_reset(&c->ep[0]);
  ep_reset(&c->ep[1]);
  c->prev = c->next = c->bucket_next = -1;
  c->list = LIST_NONE;
  c->point = g->point;
  c->key = key;
  c->ip_version = g->ip_version;
  c->start = c->last = g->time;
  c->midstream = (g->flags & SYN) == 0;
  c->synack = NAN;
  c->last_pay_dir = -1;
  c->closed_by = -1;
  c->prev_row = prev_row;
  if (prev_row >= 0) memcpy(c->prev_uid, prev_uid, ML_UID_LEN);
  c->first_packet = (double)s->packet;
  c->first_input = s->input;
  c->first_offset = s->offset;
  c->observing = 1;
  c->cport = cis ? g->src_port : g->dst_port;
  c->sport = cis ? g->dst_port : g->src_port;
  if (g->ip_version == 4) {
    c->c4 = cis ? g->src4 : g->dst4;
    c->s4 = cis ? g->dst4 : g->src4;
  } else {
    const uint8_t *ca = cis ? g->src6 : g->dst6, *sa = cis ? g->dst6 : g->src6;
    for (int k = 0; k < 4; k++) {
      c->a6[k] = word6(ca, k * 4);
      c->a6[4 + k] = word6(sa, k * 4);
    }
  }
  if (c->midstream) c->complex |= CX_MIDSTREAM;
  if (++s->indexed > s->nheads && grow_heads(s) != 0) return -1;
  int32_t b = key & (s->nheads - 1);
  c->bucket_next = s->heads[b];
  s->heads[b] = i;
  s->stats[SS_CONNECTIONS]++;
  s->stats[SS_ACTIVE]++;
  if (s->stats[SS_ACTIVE] > s->stats[SS_PEAK]) s->stats[SS_PEAK] = s->stats[SS_ACTIVE];
  return i;
}

/* conn-state.ts updateStates */
static void update_states(conn *c, endpoint *fwd, endpoint *rev, uint32_t f, uint32_t len, int from_orig) {
  if (f & RST) {
    if (from_orig && fwd->state == EP_SYN_SENT && rev->state == EP_INACTIVE) c->refused = 0;
    if (!from_orig && (rev->state == EP_SYN_SENT || rev->state == EP_SYNACK_SENT)) c->refused = 1;
    fwd->state = EP_RESET;
    return;
  }
  if (f & SYN) {
    if ((f & ACK) == 0) {
      if (fwd->state == EP_INACTIVE || fwd->state == EP_SYN_SENT) fwd->state = EP_SYN_SENT;
    } else if (fwd->state == EP_INACTIVE || fwd->state == EP_SYN_SENT || fwd->state == EP_SYNACK_SENT) {
      if (from_orig) fwd->state = EP_SYNACK_SENT;
      else {
        if (rev->state == EP_SYN_SENT) rev->state = EP_ESTABLISHED;
        fwd->state = EP_ESTABLISHED;
        c->established = 1;
      }
    }
  }
  if (f & FIN) {
    fwd->state = EP_CLOSED;
    return;
  }
  if ((f & SYN) == 0) {
    if (fwd->state == EP_INACTIVE) {
      fwd->state = EP_PARTIAL;
      if (len > 0) c->established = 1;
    }
    if (fwd->state == EP_SYNACK_SENT && from_orig) fwd->state = EP_ESTABLISHED;
  }
}

static void mark_closed(ml_survey *s, int32_t i, double now) {
  conn *c = &s->c[i];
  if (c->closed) return;
  c->closed = 1;
  list_remove(s, i);
  c->linger_from = now;
  list_append(s, i, LIST_CLOSED);
}

/* record-walk.ts observeTls */
static void observe_tls(conn *c, int dir, const uint8_t *d, uint32_t len) {
  if (!c->walking) {
    if (dir != 0 || len < 1 || d[0] != 22) {
      if (dir == 0 && len >= 4 && d[0] == 0x50 && d[1] == 0x52 && d[2] == 0x49 && d[3] == 0x20) c->complex |= CX_HTTP2;
      c->observing = 0;
      return;
    }
    if (ml_offers_h2(d, len)) c->complex |= CX_HTTP2;
    memset(&c->walk, 0, sizeof c->walk);
    c->walking = 1;
    c->tag |= TAG_TLS;
  }
  int32_t bits = ml_tls_walk_bytes(&c->walk, dir, d, len);
  if (bits != 0) {
    c->complex |= bits;
    c->observing = 0;
  } else if (c->walk.encrypted[0] && c->walk.encrypted[1]) {
    c->observing = 0;
    c->walking = 0;
  }
}

/* survey.ts newPayload */
static void new_payload(ml_survey *s, conn *c, const ml_segment *g, int dir, double idle) {
  endpoint *fwd = &c->ep[dir];
  if (isnan(fwd->first_pay)) fwd->first_pay = g->time;
  fwd->last_pay = g->time;
  if (dir == 0) {
    if (!c->awaiting) {
      c->awaiting = 1;
      if (idle > s->o.gap_threshold && ++c->marks > MARKS_SIMPLE) c->complex |= CX_MANY_MARKS;
    }
  } else {
    if ((c->awaiting || c->last_pay_dir != 1) && idle > s->o.gap_threshold && ++c->marks > MARKS_SIMPLE) c->complex |= CX_MANY_MARKS;
    c->awaiting = 0;
  }
  c->last_pay_dir = dir;
  if (c->observing && s->o.observe_tls) {
    uint32_t n = g->captured_payload < g->payload_length ? g->captured_payload : g->payload_length;
    observe_tls(c, dir, g->payload, n);
  }
}

/* survey.ts process: -1 out of memory. */
static int process(ml_survey *s, int32_t i, const ml_segment *g, int dir) {
  conn *c = &s->c[i];
  const double now = g->time;
  endpoint *fwd = &c->ep[dir], *rev = &c->ep[1 - dir];
  const int from_orig = dir == 0;
  const uint32_t f = g->flags, len = g->payload_length;
  const int32_t seq = (int32_t)g->seq;
  const int first = fwd->packets == 0 && rev->packets == 0;
  const double last_time = c->last;
  const double idle = first ? 0 : now - last_time;
  if (!first && idle > c->max_idle) c->max_idle = idle;
  if (!first && idle > s->o.gap_threshold && c->n_gaps < MAX_IDLE_GAPS) {
    if (!c->gaps && !(c->gaps = malloc(sizeof(double) * MAX_IDLE_GAPS * 3))) return -1;
    double *gp = c->gaps + (size_t)c->n_gaps * 3;
    gp[0] = last_time;
    gp[1] = now;
    gp[2] = idle;
    c->n_gaps++;
  }
  if (now > last_time) c->last = now;
  fwd->packets++;
  fwd->payload_bytes += len;

  if ((f & SYN) && !(f & RST)) {
    if (fwd->syn_count == 0 || fwd->isn != seq) {
      fwd->isn = seq;
      if (!fwd->initialized) {
        fwd->initialized = 1;
        fwd->base_seq = add32(seq, 1);
      }
    }
    fwd->syn_count++;
    if (fwd->syn_count > 1) c->complex |= CX_SYN_RETRY;
    if (!(f & ACK) && from_orig) {
      if (c->n_syn < MAX_SYN_TIMES) c->syn_times[c->n_syn++] = now;
    } else if ((f & ACK) && !from_orig) {
      if (isnan(c->synack)) c->synack = now;
    }
  }
  update_states(c, fwd, rev, f, len, from_orig);

  const int no_sfr = (f & (SYN | FIN | RST)) == 0;
  if (!fwd->initialized && (len > 0 || (f & FIN))) {
    fwd->initialized = 1;
    fwd->base_seq = seq;
  }
  const int next_valid = fwd->next_valid;
  const int32_t expected = fwd->next_seq;
  if ((len == 0 || len == 1) && no_sfr && next_valid && seq == add32(expected, -1)) c->complex |= CX_KEEPALIVE;
  else if (len > 0 && !(f & RST)) {
    if (f & SYN) c->complex |= CX_SYN_DATA;
    if (g->captured_payload < len) c->complex |= CX_TRUNCATED;
    if (!next_valid || seq == expected) {
      if (fwd->fin_seen) c->complex |= CX_DATA_AFTER_FIN;
      new_payload(s, c, g, dir, idle);
    } else if (!seq_le(add32(seq, (int32_t)len), expected)) c->complex |= CX_OUT_OF_ORDER;
  }
  if ((f & ACK) && rev->next_valid && seq_gt((int32_t)g->ack, rev->next_seq)) c->complex |= CX_ACKED_UNSEEN;
  int32_t next = add32(seq, (int32_t)len);
  if (f & (SYN | FIN)) next = add32(next, 1);
  if (len > 0 || (f & (SYN | FIN))) {
    if (!next_valid || seq_gt(next, expected)) {
      fwd->next_seq = next;
      fwd->next_valid = 1;
    }
  } else if (!next_valid && !(f & RST)) {
    fwd->next_seq = seq;
    fwd->next_valid = 1;
  }
  if (!(f & RST) && (f & ACK)) {
    fwd->last_ack = (int32_t)g->ack;
    fwd->last_ack_valid = 1;
  }

  if (f & RST) {
    c->complex |= CX_RST;
    if (c->closed_by < 0) {
      c->closed_by = dir;
      c->close_how = 2;
    }
    mark_closed(s, i, now);
  } else if ((f & FIN) && !fwd->fin_seen) {
    fwd->fin_seen = 1;
    fwd->fin_time = now;
    fwd->fin_idle = idle;
    if (c->awaiting) c->complex |= CX_FIN_REQ;
    if (++c->marks > MARKS_SIMPLE) c->complex |= CX_MANY_MARKS;
    if (c->closed_by < 0) {
      c->closed_by = dir;
      c->close_how = 1;
    }
    if (c->ep[0].fin_seen && c->ep[1].fin_seen) mark_closed(s, i, now);
  }
  return 0;
}

/* survey.ts DuplicateFilter.seen */
static int dup_seen(ml_survey *s, int32_t h1, int32_t h2, double time) {
  uint64_t key = (uint64_t)(uint32_t)h1 * 2097152u + (uint64_t)((uint32_t)h2 & 0x1fffff) + 1;
  uint32_t slot = ((uint32_t)h1 ^ ((uint32_t)h2 >> 7)) & ((1u << DUP_BITS) - 1);
  if (s->dkeys[slot] == key && fabs(time - s->dtimes[slot]) <= s->o.dup_window) return 1;
  s->dkeys[slot] = key;
  s->dtimes[slot] = time;
  return 0;
}

int ml_survey_segment(ml_survey *s, const ml_segment *g) {
  if (s->finished) return -1;
  s->packet = g->packet;
  s->input = g->input;
  s->offset = (double)g->byte_offset;
  s->stats[SS_TCP]++;
  const double now = g->time;
  if (now > s->clock) {
    s->clock = now;
    if (expiry_due(s, now) && expire(s, now) != 0) return -1;
  }
  int32_t ha = mix32(addr_hash(g, 1), (int32_t)g->src_port);
  int32_t hb = mix32(addr_hash(g, 0), (int32_t)g->dst_port);
  int32_t key = add32(ha, hb);
  if (s->o.per_point) key = mix32(key, point_hash(s, g->point));
  int32_t i = s->heads[key & (s->nheads - 1)];
  int dir = -1;
  while (i >= 0) {
    const conn *c = &s->c[i];
    if (c->key == key && (!s->o.per_point || c->point == g->point)) {
      dir = match(c, g);
      if (dir >= 0) break;
    }
    i = c->bucket_next;
  }
  const uint32_t f = g->flags;
  int32_t prev_row = -1;
  char prev_uid[ML_UID_LEN];
  s->phase = PH_AT_PACKET;
  if (i >= 0 && (f & SYN) && !(f & RST) && is_reuse(&s->c[i], g, dir)) {
    int64_t r = end_conn(s, i, END_PORT_REUSE);
    if (r < 0) return -1;
    prev_row = (int32_t)r;
    memcpy(prev_uid, s->last_uid, ML_UID_LEN); /* (create may end another connection first: an eviction) */
    i = -1;
  }
  const int created = i < 0;
  if (i < 0) {
    i = create(s, g, key, prev_row, prev_uid);
    if (i < 0) return -1;
    dir = match(&s->c[i], g);
  }
  s->phase = PH_CLOCK;
  conn *c = &s->c[i];
  c->last_packet = (double)s->packet;
  c->last_input = s->input;
  c->last_offset = s->offset;
  int32_t tsv = (int32_t)(uint32_t)(int64_t)g->ts_val;
  int32_t h1 = mix32(mix32(mix32(mix32(key, (int32_t)g->seq), (int32_t)g->ack), (int32_t)((f << 16) | g->window)),
                     (int32_t)((g->checksum << 16) | (g->ip_id & 0xffff)));
  int32_t h2 = mix32(mix32(c->key ^ dir, (int32_t)g->payload_length), tsv);
  if (dup_seen(s, h1, h2, now) && !created) {
    s->stats[SS_DUPLICATES]++;
    return 0;
  }
  if (!created && c->list == LIST_ACTIVE && i != s->atail) {
    list_remove(s, i);
    list_append(s, i, LIST_ACTIVE);
  }
  if (c->list == LIST_NONE) list_append(s, i, LIST_ACTIVE);
  return process(s, i, g, dir);
}

int64_t ml_survey_rows(const ml_survey *s) { return s->rows; }
int ml_survey_spill_fd(const ml_survey *s) { return s->spill_fd; }
int64_t ml_survey_spilled(const ml_survey *s) { return s->spilled; }
void ml_survey_release_spill(ml_survey *s) { s->spill_fd = -1; }

int64_t ml_survey_memory_chunks(const ml_survey *s) { return s->nkept + (s->rows > (s->spilled + s->nkept) * SR_CHUNK_ROWS ? 1 : 0); }

const uint8_t *ml_survey_memory_chunk(const ml_survey *s, int64_t k, int64_t *rows) {
  int64_t first = (s->spilled + k) * SR_CHUNK_ROWS, left = s->rows - first;
  *rows = left < SR_CHUNK_ROWS ? left : SR_CHUNK_ROWS;
  return k < s->nkept ? s->kept[k] : s->chunk;
}
const double *ml_survey_extra(const ml_survey *s, int64_t *n) {
  *n = s->nextra;
  return s->extra;
}
const int32_t *ml_survey_a6(const ml_survey *s, int64_t *n) {
  *n = s->na6;
  return s->a6;
}
const double *ml_survey_stats(const ml_survey *s) { return s->stats; }

