/*
 * The native capture reader of the first pass (read.h): src/capture/parser.ts's CaptureParser as
 * src/flow/pipeline.ts processCaptures drives it (the window, the stop after it), with
 * decode.c's decoder and src/flow/segment.ts segmentOf, reading regular files with read(2) into
 * one reused buffer (a unit straddling two reads is moved to the front; the buffer grows only for
 * a unit larger than it, up to MAX_BLOCK).
 *
 * Whatever the parser would warn about, and anything not reproduced exactly, declines (see read.h).
 * pcap (2.4, microsecond, nanosecond and Kuznetzov magics, either byte order) and pcapng (sections
 * in either byte order; IDB, EPB, OPB, SPB, DSB; other blocks skipped by length) are read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "decode.h"
#include "read.h"

#define MAX_BLOCK (16 * 1024 * 1024)
#define CHUNK (4 * 1024 * 1024)
/* Interface descriptions per file and capture points per read: beyond, decline (the parser keeps 65536). */
#define MAX_IFACES 4096
#define MAX_POINTS 4096
#define POINT_HASH 8192
/* Times are exact in doubles only below this many seconds (see set_time). */
#define EXACT_SECONDS 4503599627370496.0 /* 2^52 */

static const char LISTEN_MARK[] = "decapsulated by mirrorlens listen";

/* An interface of the current file as the parser keeps it (IfRt). */
typedef struct iface_rt {
  int32_t link_type;
  uint32_t snaplen;
  int kind;             /* 0: decimal 10^-k, k <= 9; 1: units <= 2^37 */
  uint64_t units;
  uint64_t ns_mul;
  int64_t ts_offset;    /* if_tsoffset seconds, |x| < 2^52 */
  int32_t point;        /* capture point id of a listen interface, else 0 */
} iface_rt;

typedef struct reader {
  const ml_read_opts *o;
  const ml_read_sink *sink;
  ml_read_result *out;
  char *why;
  size_t whylen;
  int failed;           /* ML_READ_DECLINED or ML_READ_STOPPED once set */
  ml_decoded dec;
  ml_segment seg;
  int64_t in_window;
  int input;
  /* the read buffer */
  uint8_t *buf;
  size_t cap;
  /* the current file */
  ml_read_file *file;
  int fd;
  int le, pcapng, pcap_ns, pcap_hdr, stopped;
  int section;
  int n_section_ifs;    /* this section's interfaces: the file's last n_section_ifs */
  iface_rt *ifs;        /* the file's interfaces, file-wide ids */
  int n_ifs, cap_ifs;
  /* capture points: (type << 24 | vni) + 1 -> id + 1 */
  uint32_t point_key[POINT_HASH];
  int32_t point_id[POINT_HASH];
  int32_t last_tunnel_key, last_tunnel_point;
} reader;

static int decline(reader *r, const char *fmt, ...) {
  if (r->failed) return -1;
  r->failed = ML_READ_DECLINED;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->why, r->whylen, fmt, ap);
  va_end(ap);
  return -1;
}

/* Grows an array of `size`-byte items to hold `need`; -1 on allocation failure (declines). */
static int grow(reader *r, void **p, int *capn, int need, size_t size) {
  if (need <= *capn) return 0;
  int n = *capn ? *capn * 2 : 16;
  while (n < need) n *= 2;
  void *q = realloc(*p, (size_t)n * size);
  if (q == NULL) return decline(r, "out of memory");
  *p = q;
  *capn = n;
  return 0;
}

/* Appends bytes to an arena (text or blob); returns their offset, -1 on failure. */
static int64_t arena_add(reader *r, uint8_t **a, size_t *len, size_t *cap, const uint8_t *src, size_t n) {
  if (*len + n > *cap) {
    size_t c = *cap ? *cap * 2 : 4096;
    while (c < *len + n) c *= 2;
    uint8_t *q = realloc(*a, c);
    if (q == NULL) return decline(r, "out of memory");
    *a = q;
    *cap = c;
  }
  if (n > 0) memcpy(*a + *len, src, n);
  int64_t off = (int64_t)*len;
  *len += n;
  return off;
}

static inline uint32_t u16(const reader *r, const uint8_t *p) { return r->le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) : ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t u32(const reader *r, const uint8_t *p) {
  return r->le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24)
               : ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---------------------------------------------------------------- capture points */

/* Whether b[0, n) is UTF-8 that TextDecoder gives back unchanged (valid, no leading BOM). */
static int plain_utf8(const uint8_t *b, size_t n) {
  if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) return 0;
  for (size_t i = 0; i < n;) {
    uint8_t c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) k = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      k = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (i + k >= n) return 0;
    if (b[i + 1] < lo || b[i + 1] > hi) return 0;
    for (size_t j = 2; j <= k; j++)
      if (b[i + j] < 0x80 || b[i + j] > 0xbf) return 0;
    i += k + 1;
  }
  return 1;
}

/* The id of the capture point named b[0, n) (interned; id 0 is ''), -1 when declined. */
static int32_t point_named(reader *r, const uint8_t *b, size_t n) {
  if (n == 0) return 0;
  ml_read_result *o = r->out;
  for (int i = 1; i < o->n_points; i++)
    if (o->points[i].len == n && memcmp(o->text + o->points[i].off, b, n) == 0) return i;
  if (o->n_points >= MAX_POINTS) return decline(r, "more than %d capture points", MAX_POINTS);
  if (grow(r, (void **)&o->points, &o->cap_points, o->n_points + 1, sizeof *o->points) < 0) return -1;
  int64_t off = arena_add(r, &o->text, &o->text_len, &o->text_cap, b, n);
  if (off < 0) return -1;
  o->points[o->n_points].off = off;
  o->points[o->n_points].len = (uint32_t)n;
  return o->n_points++;
}

/* capturePointOf for a tunneled packet: "vni:N" (VXLAN innermost) or "geneve:N". */
static int32_t tunnel_point(reader *r, int type, int32_t vni) {
  int32_t key = (type << 24) | vni;
  if (key == r->last_tunnel_key) return r->last_tunnel_point;
  uint32_t h = ((uint32_t)key * 2654435761u) % POINT_HASH;
  while (r->point_key[h] != 0 && r->point_key[h] != (uint32_t)key + 1) h = (h + 1) % POINT_HASH;
  int32_t id;
  if (r->point_key[h] != 0) id = r->point_id[h];
  else {
    char name[32];
    int n = snprintf(name, sizeof name, "%s:%d", type == ML_TUN_GENEVE ? "geneve" : "vni", vni);
    id = point_named(r, (const uint8_t *)name, (size_t)n);
    if (id < 0) return -1;
    r->point_key[h] = (uint32_t)key + 1;
    r->point_id[h] = id;
  }
  r->last_tunnel_key = key;
  r->last_tunnel_point = id;
  return id;
}

/* ---------------------------------------------------------------- packets */

/* One packet of the file (deliver + processCaptures' onPacket + the survey's ingest). */
static int packet(reader *r, const uint8_t *frame, int64_t caplen, const iface_rt *itf, int64_t ts_sec, int64_t ts_nsec, int64_t block_off) {
  ml_read_result *o = r->out;
  ml_read_file *f = r->file;
  f->packets++;
  o->packets++;
  double t = (double)ts_sec + (double)ts_nsec / 1e9;
  if (t < r->o->since || t > r->o->until) {
    o->outside_window++;
    if (t > r->o->until) r->stopped = 1;
    return 0;
  }
  int64_t n = r->in_window++;
  ml_decoded *d = &r->dec;
  int st = ml_decode(d, itf->link_type, frame, caplen);
  if (d->layer_limit) return decline(r, "packet %lld has more layers than the decoder keeps", (long long)(f->packets));
  if (st == ML_TRUNCATED) o->truncated++;
  else if (st == ML_MALFORMED) o->malformed++;
  else if (st == ML_UNSUPPORTED) o->unsupported++;
  if (isnan(o->first_time)) o->first_time = t;
  if (!(t <= o->last_time)) o->last_time = t; /* (NAN at first) */
  if (isnan(f->first_time) || t < f->first_time) f->first_time = t;
  if (isnan(f->last_time) || t > f->last_time) f->last_time = t;
  o->decoded++;

  /* segmentOf */
  if (d->transport != 6 || !d->tcp_ok) {
    if (d->transport == 6) {
      o->skipped++;
      return 0;
    }
    o->non_tcp++;
    if (d->transport == 1 && d->icmp_ok && d->icmp_is_error && d->ip_version == 4) {
      /* an ICMP error JavaScript turns into an IcmpErrorEvent itself (flow/icmp-error.ts) */
      int32_t point = d->tunnel_depth > 0 && d->vni >= 0 ? tunnel_point(r, d->tunnel_type, d->vni) : 0;
      if (point < 0) return -1;
      if (point == 0) point = itf->point;
      if (grow(r, (void **)&o->icmp, &o->cap_icmp, o->n_icmp + 1, sizeof *o->icmp) < 0) return -1;
      int64_t off = arena_add(r, &o->blob, &o->blob_len, &o->blob_cap, frame, (size_t)caplen);
      if (off < 0) return -1;
      ml_read_packet *k = &o->icmp[o->n_icmp++];
      k->packet = n;
      k->byte_offset = block_off;
      k->input = r->input;
      k->link_type = itf->link_type;
      k->point = point;
      k->time = t;
      k->off = off;
      k->len = (uint32_t)caplen;
    }
    return 0;
  }
  ml_segment *s = &r->seg;
  int64_t declared_upper, ip_header;
  if (d->ip_version == 4) {
    if (d->ip4.is_fragment) {
      o->skipped++;
      return 0;
    }
    s->ip_version = 4;
    s->src4 = d->ip4.src;
    s->dst4 = d->ip4.dst;
    memset(s->src6, 0, 16);
    memset(s->dst6, 0, 16);
    s->ip_id = d->ip4.id;
    declared_upper = d->ip4.declared_upper;
    ip_header = d->ip4.header_length;
  } else {
    if (d->ip6.is_fragment) {
      o->skipped++;
      return 0;
    }
    s->ip_version = 6;
    s->src4 = s->dst4 = 0;
    memcpy(s->src6, frame + d->ip6.src_off, 16);
    memcpy(s->dst6, frame + d->ip6.dst_off, 16);
    s->ip_id = 0;
    declared_upper = d->ip6.declared_upper;
    ip_header = d->ip6.header_length;
  }
  const ml_tcp *tc = &d->tcp;
  s->time = t;
  s->packet = n;
  s->byte_offset = block_off;
  s->input = r->input;
  int32_t point = d->tunnel_depth > 0 && d->vni >= 0 ? tunnel_point(r, d->tunnel_type, d->vni) : 0;
  if (point < 0) return -1;
  s->point = point != 0 ? point : itf->point;
  s->src_port = tc->src_port;
  s->dst_port = tc->dst_port;
  s->seq = tc->seq;
  s->ack = tc->ack;
  s->flags = tc->flags;
  s->window = tc->window;
  s->checksum = tc->checksum;
  s->mss = tc->mss;
  s->window_scale = tc->window_scale;
  s->sack_permitted = tc->sack_permitted;
  s->ts_val = tc->has_ts ? (double)tc->ts_val : -1;
  s->payload = frame + d->payload_off;
  s->captured_payload = (uint32_t)d->payload_len;
  int64_t declared_payload = declared_upper - tc->header_length;
  int64_t pl = declared_payload > d->payload_len ? declared_payload : d->payload_len;
  int64_t ip_length = ip_header + tc->header_length + pl;
  if (ip_length > 0xffffffffLL) return decline(r, "packet %lld declares an IP length beyond 32 bits", (long long)f->packets);
  s->payload_length = (uint32_t)pl;
  s->ip_length = (uint32_t)ip_length;
  o->segments++;
  if (r->sink != NULL && r->sink->segment != NULL && r->sink->segment(r->sink->ctx, s) != 0) {
    if (!r->failed) r->failed = ML_READ_STOPPED;
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- pcapng blocks */

/* setTime: seconds and nanoseconds of the 64-bit unit count at p (high word first), exactly. */
static int set_time(reader *r, const iface_rt *itf, const uint8_t *p, int64_t *sec, int64_t *nsec) {
  uint64_t t = ((uint64_t)u32(r, p) << 32) | u32(r, p + 4);
  uint64_t q = t / itf->units, frac = t % itf->units;
  if ((double)q >= EXACT_SECONDS) return decline(r, "a packet time of %llu seconds is beyond what a double holds exactly", (unsigned long long)q);
  *sec = (int64_t)q + itf->ts_offset;
  if (itf->kind == 0) *nsec = (int64_t)(frac * itf->ns_mul);
  else *nsec = (int64_t)(((unsigned __int128)frac * 1000000000u) / itf->units);
  return 0;
}

static const iface_rt *section_iface(reader *r, uint32_t id, const char *what) {
  if (id >= (uint32_t)r->n_section_ifs) {
    decline(r, "%s refers to an interface its section does not describe", what);
    return NULL;
  }
  return &r->ifs[r->n_ifs - r->n_section_ifs + (int)id];
}

/* An interface description block (parser.ts idb): the runtime interface and its summary. */
static int idb(reader *r, const uint8_t *b, uint32_t len) {
  ml_read_result *o = r->out;
  if (len < 20) return decline(r, "an interface description block is too short");
  if (r->n_ifs >= MAX_IFACES) return decline(r, "more than %d interface descriptions", MAX_IFACES);
  if (grow(r, (void **)&r->ifs, &r->cap_ifs, r->n_ifs + 1, sizeof *r->ifs) < 0) return -1;
  if (grow(r, (void **)&o->ifaces, &o->cap_ifaces, o->n_ifaces + 1, sizeof *o->ifaces) < 0) return -1;
  ml_read_iface *ii = &o->ifaces[o->n_ifaces];
  memset(ii, 0, sizeof *ii);
  ii->name_off = ii->description_off = ii->os_off = ii->hardware_off = ii->comment_off = ii->filter_off = -1;
  ii->fcs_length = -1;
  ii->speed_bps = -1;
  ii->link_type = (int32_t)u16(r, b + 8);
  ii->snaplen = u32(r, b + 12);
  int tsresol = 6;
  int64_t tsoff = 0;
  const uint8_t *name = NULL, *descr = NULL;
  uint32_t name_len = 0, descr_len = 0;
  uint32_t p = 16, end = len - 4;
  while (p + 4 <= end) {
    uint32_t code = u16(r, b + p), olen = u16(r, b + p + 2);
    if (code == 0) break;
    uint32_t v = p + 4;
    if (v + olen > end) return decline(r, "an interface option runs past its block");
    const uint8_t *val = b + v;
    int64_t at = -1;
    if (code == 1 || code == 2 || code == 3 || code == 11 || code == 12 || code == 15) {
      if (code == 1 && ii->comment_off >= 0) at = -2; /* the first comment is kept */
      else if (code == 11 && olen < 1) at = -2;
      else {
        const uint8_t *s = code == 11 ? val + 1 : val;
        uint32_t n = code == 11 ? olen - 1 : olen;
        at = arena_add(r, &o->text, &o->text_len, &o->text_cap, s, n);
        if (at < 0) return -1;
        switch (code) {
          case 1: ii->comment_off = at, ii->comment_len = n; break;
          case 2: ii->name_off = at, ii->name_len = n, name = val, name_len = n; break;
          case 3: ii->description_off = at, ii->description_len = n, descr = val, descr_len = n; break;
          case 11: ii->filter_off = at, ii->filter_len = n, ii->filter_type = val[0]; break;
          case 12: ii->os_off = at, ii->os_len = n; break;
          default: ii->hardware_off = at, ii->hardware_len = n; break;
        }
      }
    } else if (code == 8 && olen == 8) {
      uint32_t lo = u32(r, r->le ? val : val + 4), hi = u32(r, r->le ? val + 4 : val);
      ii->speed_bps = (double)lo + (double)hi * 4294967296.0;
    } else if (code == 9 && olen >= 1) tsresol = val[0];
    else if (code == 13 && olen >= 1) ii->fcs_length = val[0];
    else if (code == 14 && olen == 8) {
      uint32_t lo = u32(r, r->le ? val : val + 4), hi = u32(r, r->le ? val + 4 : val);
      tsoff = (int64_t)(int32_t)hi * 4294967296LL + lo;
    }
    p = v + ((olen + 3) & ~3u);
  }
  if (tsoff >= (int64_t)EXACT_SECONDS || tsoff <= -(int64_t)EXACT_SECONDS) return decline(r, "an interface time offset beyond what a double holds exactly");
  iface_rt *rt = &r->ifs[r->n_ifs];
  rt->link_type = ii->link_type;
  rt->snaplen = ii->snaplen;
  rt->ts_offset = tsoff;
  int exp = tsresol & 0x7f;
  if ((tsresol & 0x80) == 0 && exp <= 9) {
    rt->kind = 0;
    rt->units = 1;
    for (int i = 0; i < exp; i++) rt->units *= 10;
    rt->ns_mul = 1000000000u / rt->units;
  } else if (((tsresol & 0x80) == 0 && exp <= 11) || ((tsresol & 0x80) != 0 && exp <= 37)) {
    rt->kind = 1;
    rt->units = 1;
    if (tsresol & 0x80) rt->units <<= exp;
    else
      for (int i = 0; i < exp; i++) rt->units *= 10;
    rt->ns_mul = 0;
  } else return decline(r, "interface time resolution 0x%02x is not one the native reader computes exactly", tsresol);
  /* interfaceContext: a listen interface's packets are at the capture point its name says */
  rt->point = 0;
  if (descr != NULL && memmem(descr, descr_len, LISTEN_MARK, sizeof LISTEN_MARK - 1) != NULL && name != NULL) {
    if (!plain_utf8(name, name_len)) return decline(r, "a listen interface name that is not plain UTF-8");
    rt->point = point_named(r, name, name_len);
    if (rt->point < 0) return -1;
  }
  ii->tsresol = tsresol;
  ii->ts_offset_sec = (double)tsoff;
  ii->section = r->section < 0 ? 0 : r->section;
  ii->section_interface_id = r->n_section_ifs;
  o->n_ifaces++;
  r->file->iface_count++;
  r->n_ifs++;
  r->n_section_ifs++;
  return 0;
}

/* Packet block options (opt_comment, flags): read only for the warnings they can give. */
static int packet_options(reader *r, const uint8_t *b, uint32_t p, uint32_t end) {
  while (p + 4 <= end) {
    uint32_t code = u16(r, b + p), olen = u16(r, b + p + 2);
    if (code == 0) return 0;
    uint32_t v = p + 4;
    if (v + olen > end) return decline(r, "a packet option runs past its block");
    p = v + ((olen + 3) & ~3u);
  }
  return 0;
}

/* One complete pcapng block b[0, len) at file offset `at` (parser.ts pcapngBlock). */
static int pcapng_block(reader *r, const uint8_t *b, uint32_t len, int64_t at) {
  uint32_t type = u32(r, b);
  if (u32(r, b + len - 4) != len) return decline(r, "a block's trailing length differs from its leading one");
  if (r->section < 0 && type != 0x0a0d0d0a) return decline(r, "the pcapng file does not start with a section header block");
  switch (type) {
    case 0x0a0d0d0a:
      if (u16(r, b + 12) != 1) return decline(r, "a pcapng version other than 1");
      r->section++;
      r->n_section_ifs = 0;
      return 0;
    case 1:
      return idb(r, b, len);
    case 6:
    case 2: {
      const char *what = type == 6 ? "an enhanced packet block" : "a packet block";
      if (len < 32) return decline(r, "%s is too short", what);
      const iface_rt *itf = section_iface(r, type == 6 ? u32(r, b + 8) : u16(r, b + 8), what);
      if (itf == NULL) return -1;
      uint32_t cap = u32(r, b + 20);
      if (cap > len - 32) return decline(r, "%s says more captured bytes than it holds", what);
      int64_t sec = 0, nsec = 0; /* (set by set_time; initialised for gcc 12 -O2 -Wmaybe-uninitialized) */
      if (set_time(r, itf, b + 12, &sec, &nsec) < 0) return -1;
      if (packet_options(r, b, 28 + ((cap + 3) & ~3u), len - 4) < 0) return -1;
      return packet(r, b + 28, cap, itf, sec, nsec, at);
    }
    case 3: {
      if (len < 16) return decline(r, "a simple packet block is too short");
      const iface_rt *itf = section_iface(r, 0, "a simple packet block");
      if (itf == NULL) return -1;
      uint32_t orig = u32(r, b + 8);
      uint32_t cap = itf->snaplen != 0 && orig > itf->snaplen ? itf->snaplen : orig;
      if (cap > len - 16) return decline(r, "a simple packet block cannot hold the bytes it implies");
      return packet(r, b + 12, cap, itf, 0, 0, at);
    }
    case 10: {
      if (len < 20) return decline(r, "a decryption secrets block is too short");
      uint32_t slen = u32(r, b + 12);
      if (slen > len - 20) return decline(r, "a decryption secrets block says more than it holds");
      ml_read_result *o = r->out;
      if (grow(r, (void **)&o->dsbs, &o->cap_dsbs, o->n_dsbs + 1, sizeof *o->dsbs) < 0) return -1;
      int64_t off = arena_add(r, &o->blob, &o->blob_len, &o->blob_cap, b + 16, slen);
      if (off < 0) return -1;
      ml_read_dsb *k = &o->dsbs[o->n_dsbs++];
      k->type = u32(r, b + 8);
      k->input = r->input;
      k->off = off;
      k->len = slen;
      r->file->secrets_blocks++;
      return 0;
    }
    default:
      return 0; /* NRB, ISB, custom, local and unknown blocks: skipped by length */
  }
}

/* ---------------------------------------------------------------- units */

/*
 * The length of the unit at b[0, avail) (parser.ts unitLength): > 0 its validated length, 0 when
 * more bytes are needed to know (need set to how many), -1 when declined.
 */
static int64_t unit_length(reader *r, const uint8_t *b, size_t avail, size_t *need) {
  if (r->pcapng) {
    if (avail < 12) return (*need = 12), 0;
    uint32_t type = u32(r, b);
    if (type == 0x0a0d0d0a) {
      uint32_t bom = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
      if (bom == 0x1a2b3c4d) r->le = 0;
      else if (bom == 0x4d3c2b1a) r->le = 1;
      else return decline(r, "a section header block with an invalid byte-order magic");
    }
    uint32_t len = u32(r, b + 4);
    uint32_t min = type == 0x0a0d0d0a ? 28 : 12;
    if (len < min || (len & 3) != 0 || len > MAX_BLOCK) return decline(r, "a block of type 0x%x has a corrupt total length %u", type, len);
    return len;
  }
  if (avail < (size_t)r->pcap_hdr) return (*need = (size_t)r->pcap_hdr), 0;
  uint32_t cap = u32(r, b + 8);
  if (cap > MAX_BLOCK) return decline(r, "a packet record claims %u captured bytes", cap);
  return r->pcap_hdr + (int64_t)cap;
}

static int parse_unit(reader *r, const uint8_t *b, uint32_t len, int64_t at) {
  if (r->pcapng) return pcapng_block(r, b, len, at);
  /* a pcap record */
  const iface_rt *itf = &r->ifs[0];
  int64_t sec = u32(r, b), nsec = u32(r, b + 4);
  if (!r->pcap_ns) nsec *= 1000;
  if (nsec > 999999999) {
    sec += nsec / 1000000000;
    nsec %= 1000000000;
  }
  return packet(r, b + r->pcap_hdr, len - r->pcap_hdr, itf, sec, nsec, at);
}

/* The pcap file header (parser.ts pcapHeader): its one interface. */
static int pcap_header(reader *r, const uint8_t *b) {
  if (u16(r, b + 4) != 2) return decline(r, "a pcap version other than 2");
  ml_read_result *o = r->out;
  if (grow(r, (void **)&r->ifs, &r->cap_ifs, 1, sizeof *r->ifs) < 0) return -1;
  if (grow(r, (void **)&o->ifaces, &o->cap_ifaces, o->n_ifaces + 1, sizeof *o->ifaces) < 0) return -1;
  uint32_t snaplen = u32(r, b + 16), lt = u32(r, b + 20);
  ml_read_iface *ii = &o->ifaces[o->n_ifaces++];
  memset(ii, 0, sizeof *ii);
  ii->name_off = ii->description_off = ii->os_off = ii->hardware_off = ii->comment_off = ii->filter_off = -1;
  ii->link_type = (int32_t)(lt & 0xffff);
  ii->snaplen = snaplen;
  ii->tsresol = r->pcap_ns ? 9 : 6;
  ii->fcs_length = (lt & 0x04000000) != 0 ? (int32_t)((lt >> 28) & 0xf) * 2 : -1;
  ii->speed_bps = -1;
  r->file->iface_count++;
  iface_rt *rt = &r->ifs[0];
  memset(rt, 0, sizeof *rt);
  rt->link_type = ii->link_type;
  rt->snaplen = snaplen;
  r->n_ifs = 1;
  return 0;
}

/* ---------------------------------------------------------------- files */

/* Makes b[0, have) hold at least `want` bytes of the file (reading more); returns what it holds, -1 on error. */
static int64_t fill(reader *r, size_t have, size_t want) {
  if (want > r->cap) {
    size_t c = r->cap;
    while (c < want) c *= 2;
    void *q = mremap(r->buf, r->cap, c, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return decline(r, "out of memory");
    r->buf = q;
    r->cap = c;
  }
  while (have < want) {
    ssize_t n = read(r->fd, r->buf + have, r->cap - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      char e[128];
      return decline(r, "cannot read the capture (%s)", strerror_r(errno, e, sizeof e)); /* (GNU strerror_r: thread-safe) */
    }
    if (n == 0) break;
    have += (size_t)n;
  }
  return (int64_t)have;
}

static int read_file(reader *r, const char *path) {
  if (strcmp(path, "-") == 0 || strncmp(path, "s3://", 5) == 0) return decline(r, "%s is not a local file", path);
  /* O_NONBLOCK: opening a FIFO must not wait for its writer (it is declined below); regular files ignore it */
  r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (r->fd < 0) {
    char e[128];
    return decline(r, "cannot open a capture (%s)", strerror_r(errno, e, sizeof e));
  }
  struct stat st;
  if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) return decline(r, "a capture that is not a regular file");
  size_t have = (size_t)fill(r, 0, r->cap < CHUNK ? r->cap : CHUNK);
  if (r->failed) return -1;
  if (have < 4) return decline(r, "a capture of fewer than 4 bytes");
  const uint8_t *b = r->buf;
  if (b[0] == 0x1f && b[1] == 0x8b) return decline(r, "a gzip-compressed capture");
  uint32_t m = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
  uint32_t sw = ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | b[0];
  size_t pos = 0;
  int64_t base = 0; /* file offset of buf[0] */
  if (m == 0x0a0d0d0a) r->pcapng = 1;
  else {
    uint32_t v = m;
    r->le = 0;
    if (v != 0xa1b2c3d4 && v != 0xa1b23c4d && v != 0xa1b2cd34) {
      v = sw;
      r->le = 1;
    }
    if (v != 0xa1b2c3d4 && v != 0xa1b23c4d && v != 0xa1b2cd34) return decline(r, "not a pcap or pcapng capture");
    r->pcap_ns = v == 0xa1b23c4d;
    r->pcap_hdr = v == 0xa1b2cd34 ? 24 : 16;
    if (have < 24) return decline(r, "a pcap file header cut off");
    if (pcap_header(r, b) < 0) return -1;
    pos = 24;
    r->file->bytes = 24;
  }
  for (;;) {
    size_t need = 0;
    int64_t len = have > pos ? unit_length(r, r->buf + pos, have - pos, &need) : 0;
    if (len < 0) return -1;
    if (len == 0 && have == pos) {
      /* the buffer is used up: refill from its start */
      base += (int64_t)pos;
      pos = 0;
      int64_t h = fill(r, 0, r->cap < CHUNK ? r->cap : CHUNK);
      if (h < 0) return -1;
      have = (size_t)h;
      if (have == 0) return 0; /* the end, on a unit boundary */
      continue;
    }
    size_t want = len > 0 ? (size_t)len : need;
    if (have - pos < want) {
      /* the unit straddles the end of the buffer: move it to the front and read on */
      size_t rest = have - pos;
      memmove(r->buf, r->buf + pos, rest);
      base += (int64_t)pos;
      pos = 0;
      size_t target = want > CHUNK ? want : CHUNK;
      int64_t h = fill(r, rest, target > r->cap ? target : r->cap);
      if (h < 0) return -1;
      have = (size_t)h;
      if (have < want) return decline(r, "the capture is cut off (its last unit needs %zu bytes, %zu present)", want, have);
      continue;
    }
    if (parse_unit(r, r->buf + pos, (uint32_t)len, base + (int64_t)pos) < 0) return -1;
    pos += (size_t)len;
    r->file->bytes = base + (int64_t)pos;
    if (r->stopped) return 0;
  }
}

int ml_read_inputs(const char *const *paths, int n, const ml_read_opts *o, const ml_read_sink *sink, ml_read_result *out, char *why, size_t whylen) {
  reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    snprintf(why, whylen, "out of memory");
    return ML_READ_DECLINED;
  }
  r->o = o;
  r->sink = sink;
  r->out = out;
  r->why = why;
  r->whylen = whylen;
  r->fd = -1;
  r->last_tunnel_key = -1;
  why[0] = 0;
  out->first_time = NAN;
  out->last_time = NAN;
  /*
   * The read buffer is mapped, not malloc'ed: glibc raises its mmap threshold to the size of the
   * largest mmapped block it frees (up to 32 MiB), after which every smaller block comes from the
   * heap, which it seldom gives back: freeing these 4 MiB would do that for the whole process.
   */
  r->cap = CHUNK;
  void *buf = mmap(NULL, r->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r->buf = buf == MAP_FAILED ? NULL : buf;
  if (r->buf == NULL) decline(r, "out of memory");
  /* point 0: '' */
  if (!r->failed && grow(r, (void **)&out->points, &out->cap_points, 1, sizeof *out->points) == 0) {
    out->points[0].off = 0;
    out->points[0].len = 0;
    out->n_points = 1;
  }
  for (int i = 0; i < n && !r->failed; i++) {
    if (grow(r, (void **)&out->files, &out->cap_files, out->n_files + 1, sizeof *out->files) < 0) break;
    r->file = &out->files[out->n_files++];
    memset(r->file, 0, sizeof *r->file);
    r->file->first_time = r->file->last_time = NAN;
    r->file->iface_first = out->n_ifaces;
    r->input = i;
    r->le = 0;
    r->pcapng = 0;
    r->stopped = 0;
    r->section = -1;
    r->n_section_ifs = 0;
    r->n_ifs = 0;
    read_file(r, paths[i]);
    r->file->pcapng = r->pcapng;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
  }
  int ret = r->failed ? r->failed : ML_READ_OK;
  if (r->buf) munmap(r->buf, r->cap);
  free(r->ifs);
  free(r);
  return ret;
}

void ml_read_result_free(ml_read_result *r) {
  free(r->files);
  free(r->ifaces);
  free(r->dsbs);
  free(r->icmp);
  free(r->points);
  free(r->text);
  free(r->blob);
  memset(r, 0, sizeof *r);
}
