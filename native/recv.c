/*
 * mirrorlens native receive engines (Linux), an N-API addon built at install time
 * (scripts/build-native.mjs). Two ways to take many packets per system call:
 *
 *  - "mmsg": a UDP socket read with recvmmsg(2), up to 64 datagrams per call, straight into one
 *    JavaScript-owned buffer (no Buffer, no rinfo object per datagram). No privilege needed.
 *  - "ring": an AF_PACKET socket with a TPACKET_V3 receive ring (the kernel fills blocks of
 *    frames in shared memory; one wake-up per block or per block timeout), as libpcap does.
 *    Needs CAP_NET_RAW. Used for `listen --interface` and `listen --engine ring`.
 *
 * Readiness comes from a libuv poll handle on the descriptor, so the JavaScript side is woken
 * once per batch and reads with udpRecv / ringRead until they return 0. Nothing here allocates
 * per packet. Errors are thrown as Error objects whose `code` is the errno name.
 *
 * The JavaScript side (src/capture/native.ts) shares this file's buffer layouts (META_WORDS, ...)
 * and loads the addon only when `sourceHash` (the hash of this file, computed by
 * scripts/native-hash.mjs when binding.gyp builds it) is the hash of the native/recv.c beside it:
 * an addon built before a change here is never used silently.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <node_api.h>
#include <uv.h>

#ifndef MIRRORLENS_SOURCE_HASH
#error "build with binding.gyp (node-gyp): it defines MIRRORLENS_SOURCE_HASH"
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

#define MAX_BATCH 64
#define META_WORDS 10 /* udp: len, family, a0..a3, port, flags, sec, nsec */
#define RING_META_WORDS 8 /* ring: off, caplen, origlen, sec, nsec, pkttype, hatype, 0 */

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "mirrorlens native: N-API call failed: " #call);                 \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  const char *code = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s %s (%s)", what, code ? code : "error", strerror(err));
  napi_throw_error(env, code ? code : "EIO", msg);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "mirrorlens native: missing arguments");
    return -1;
  }
  return 0;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "mirrorlens native: expected a number");
    return -1;
  }
  return 0;
}

/* (Uint8Array|Int32Array) -> data pointer and byte length */
static int get_typed(napi_env env, napi_value v, void **data, size_t *bytes) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) {
    napi_throw_type_error(env, NULL, "mirrorlens native: expected a typed array");
    return -1;
  }
  *bytes = length * (type == napi_int32_array || type == napi_uint32_array ? 4 : 1);
  return 0;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static void set_num(napi_env env, napi_value obj, const char *name, double d) {
  napi_set_named_property(env, obj, name, num(env, d));
}

/* ---------------------------------------------------------------------------------------------
 * UDP + recvmmsg
 */

/* udpOpen(family 4|6, address, port, rcvbuf, reuseport, dropAll) -> { fd, port, recvBufferBytes } */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (get_args(env, info, 6, argv)) return NULL;
  int32_t family, port, rcvbuf;
  bool reuseport, drop_all;
  char addr[64];
  size_t alen;
  if (get_i32(env, argv[0], &family) || get_i32(env, argv[2], &port) || get_i32(env, argv[3], &rcvbuf)) return NULL;
  CHECK(napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen));
  CHECK(napi_get_value_bool(env, argv[4], &reuseport));
  CHECK(napi_get_value_bool(env, argv[5], &drop_all));

  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1, zero = 0;
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "SO_REUSEPORT", e);
  }
  if (drop_all) {
    /* a bound socket keeps the kernel from answering ICMP port unreachable; it keeps nothing */
    struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    struct sock_fprog prog = {1, code};
    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    int small = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  } else {
    /* the kernel's time of arrival for each datagram (a batch is read later than it arrived) */
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  }
  if (!drop_all && rcvbuf > 0) {
    /* as root, SO_RCVBUFFORCE passes net.core.rmem_max; otherwise the capped request */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) {
      close(fd);
      return throw_errno(env, "bad IPv6 address", EINVAL);
    }
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1) {
      close(fd);
      return throw_errno(env, "bad IPv4 address", EINVAL);
    }
    sl = sizeof *s4;
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  set_num(env, obj, "fd", fd);
  set_num(env, obj, "port", ntohs(family == 6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port));
  set_num(env, obj, "recvBufferBytes", got);
  return obj;
}

/*
 * udpRecv(fd, buf Uint8Array, slotSize, meta Int32Array) -> datagrams read (0: none waiting).
 * Datagram i is at buf[i*slotSize], meta[i*8..]: length, family (4|6), address (IPv4: a0 as
 * uint32 in network order read big-endian; IPv6: a0..a3), source port, flags (1: truncated),
 * arrival time (seconds, nanoseconds; 0 when the kernel gave none).
 * IPv4-mapped IPv6 sources are given as IPv4.
 */
static napi_value udp_recv(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv)) return NULL;
  int32_t fd, slot;
  void *buf, *metav;
  size_t blen, mlen;
  if (get_i32(env, argv[0], &fd) || get_i32(env, argv[2], &slot)) return NULL;
  if (get_typed(env, argv[1], &buf, &blen) || get_typed(env, argv[3], &metav, &mlen)) return NULL;
  int32_t *meta = metav;
  unsigned n = slot > 0 ? (unsigned)(blen / (size_t)slot) : 0;
  if (n > mlen / (META_WORDS * 4)) n = mlen / (META_WORDS * 4);
  if (n > MAX_BATCH) n = MAX_BATCH;
  if (n == 0) {
    napi_throw_range_error(env, NULL, "mirrorlens native: buffers too small for one datagram");
    return NULL;
  }
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in6 addrs[MAX_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
  } ctl[MAX_BATCH];
  for (unsigned i = 0; i < n; i++) {
    iov[i].iov_base = (char *)buf + (size_t)i * slot;
    iov[i].iov_len = slot;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
    msgs[i].msg_hdr.msg_control = ctl[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
  }
  int r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) r = 0;
    else return throw_errno(env, "recvmmsg", errno);
  }
  for (int i = 0; i < r; i++) {
    int32_t *m = meta + i * META_WORDS;
    m[0] = (int32_t)msgs[i].msg_len;
    m[7] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    m[8] = m[9] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        m[8] = (int32_t)ts.tv_sec;
        m[9] = (int32_t)ts.tv_nsec;
      }
    }
    struct sockaddr *sa = (struct sockaddr *)&addrs[i];
    if (sa->sa_family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
      m[1] = 4;
      m[2] = (int32_t)ntohl(s4->sin_addr.s_addr);
      m[3] = m[4] = m[5] = 0;
      m[6] = ntohs(s4->sin_port);
    } else {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
      const uint8_t *a = s6->sin6_addr.s6_addr;
      m[6] = ntohs(s6->sin6_port);
      if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        m[1] = 4;
        m[2] = (int32_t)(((uint32_t)a[12] << 24) | ((uint32_t)a[13] << 16) | ((uint32_t)a[14] << 8) | a[15]);
        m[3] = m[4] = m[5] = 0;
      } else {
        m[1] = 6;
        for (int w = 0; w < 4; w++)
          m[2 + w] = (int32_t)(((uint32_t)a[4 * w] << 24) | ((uint32_t)a[4 * w + 1] << 16) | ((uint32_t)a[4 * w + 2] << 8) | a[4 * w + 3]);
      }
    }
  }
  return num(env, r);
}

/* ---------------------------------------------------------------------------------------------
 * AF_PACKET + TPACKET_V3 ring
 */

typedef struct {
  int fd;
  uint8_t *map;
  size_t map_len;
  unsigned block_size, blocks;
  unsigned cur;        /* block being read */
  unsigned left;       /* frames left in it (0: not yet taken) */
  uint8_t *next;       /* next frame in it */
  double packets, drops, freezes;
} ring_t;

static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ring_t *r = data;
  if (r->map) munmap(r->map, r->map_len);
  if (r->fd >= 0) close(r->fd);
  free(r);
}

static int get_ring(napi_env env, napi_value v, ring_t **r) {
  if (napi_get_value_external(env, v, (void **)r) != napi_ok || *r == NULL) {
    napi_throw_type_error(env, NULL, "mirrorlens native: expected a ring handle");
    return -1;
  }
  return 0;
}

/*
 * ringOpen(ifname ('' = all), blockSize, blocks, blockTimeoutMs, filter Int32Array|null (classic
 * BPF: code, jt, jf, k per instruction)) -> { handle, fd, ifindex, arphrd }
 */
static napi_value ring_open(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv)) return NULL;
  char ifname[IF_NAMESIZE + 1];
  size_t nl;
  int32_t bsize, blocks, tov;
  CHECK(napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &nl));
  if (get_i32(env, argv[1], &bsize) || get_i32(env, argv[2], &blocks) || get_i32(env, argv[3], &tov)) return NULL;
  napi_valuetype ft;
  CHECK(napi_typeof(env, argv[4], &ft));
  int32_t *fcode = NULL;
  size_t fbytes = 0;
  if (ft == napi_object && get_typed(env, argv[4], (void **)&fcode, &fbytes)) return NULL;

  int ifindex = 0;
  if (nl > 0) {
    ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0) return throw_errno(env, "no such interface", ENODEV);
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return throw_errno(env, "AF_PACKET socket", errno);
  int err = 0;
  const char *what = "";
  int v3 = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof v3) < 0) {
    err = errno;
    what = "PACKET_VERSION";
    goto fail;
  }
  if (fcode && fbytes >= 16) {
    unsigned n = fbytes / 16;
    struct sock_filter *code = calloc(n, sizeof *code);
    for (unsigned i = 0; i < n; i++) {
      code[i].code = (uint16_t)fcode[4 * i];
      code[i].jt = (uint8_t)fcode[4 * i + 1];
      code[i].jf = (uint8_t)fcode[4 * i + 2];
      code[i].k = (uint32_t)fcode[4 * i + 3];
    }
    struct sock_fprog prog = {(unsigned short)n, code};
    int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    free(code);
    if (rc < 0) {
      err = errno;
      what = "SO_ATTACH_FILTER";
      goto fail;
    }
  }
  struct tpacket_req3 req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = (unsigned)bsize;
  req.tp_block_nr = (unsigned)blocks;
  req.tp_frame_size = 2048; /* only a sizing unit for TPACKET_V3 */
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  req.tp_retire_blk_tov = (unsigned)tov;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) {
    err = errno;
    what = "PACKET_RX_RING";
    goto fail;
  }
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (map == MAP_FAILED) map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    err = errno;
    what = "mmap of the packet ring";
    goto fail;
  }
  struct sockaddr_ll ll;
  memset(&ll, 0, sizeof ll);
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
    err = errno;
    munmap(map, len);
    what = "bind to the interface";
    goto fail;
  }
  int arphrd = -1;
  if (ifindex > 0) {
    struct sockaddr_ll got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) arphrd = got.sll_hatype;
  }
  ring_t *r = calloc(1, sizeof *r);
  r->fd = fd;
  r->map = map;
  r->map_len = len;
  r->block_size = req.tp_block_size;
  r->blocks = req.tp_block_nr;
  napi_value obj, ext;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_external(env, r, ring_finalize, NULL, &ext));
  napi_set_named_property(env, obj, "handle", ext);
  set_num(env, obj, "fd", fd);
  set_num(env, obj, "ifindex", ifindex);
  set_num(env, obj, "arphrd", arphrd);
  return obj;
fail:
  close(fd);
  return throw_errno(env, what, err);
}

static inline struct tpacket_block_desc *block_at(ring_t *r, unsigned i) {
  return (struct tpacket_block_desc *)(r->map + (size_t)i * r->block_size);
}

/*
 * ringRead(handle, buf Uint8Array, meta Int32Array) -> frames copied (0: none ready).
 * Frame i: meta[i*8..] = offset in buf, captured length, original length, seconds, nanoseconds,
 * packet type (PACKET_HOST, PACKET_OUTGOING, ...), ARPHRD type. A VLAN tag the kernel took off is put back.
 * A block is given back to the kernel once all its frames are copied.
 */
static napi_value ring_read(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv)) return NULL;
  ring_t *r;
  uint8_t *buf;
  int32_t *meta;
  size_t blen, mlen;
  if (get_ring(env, argv[0], &r) || get_typed(env, argv[1], (void **)&buf, &blen) || get_typed(env, argv[2], (void **)&meta, &mlen)) return NULL;
  if (r->fd < 0) return num(env, 0);
  size_t maxf = mlen / (RING_META_WORDS * 4);
  size_t off = 0, n = 0;
  while (n < maxf) {
    struct tpacket_block_desc *bd = block_at(r, r->cur);
    if (r->left == 0) {
      if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      r->left = bd->hdr.bh1.num_pkts;
      r->next = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
      if (r->left == 0) goto release;
    }
    struct tpacket3_hdr *h = (struct tpacket3_hdr *)r->next;
    unsigned cap = h->tp_snaplen;
    bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) && cap >= 12;
    size_t need = cap + (vlan ? 4 : 0);
    if (off + need > blen) {
      if (n == 0) {
        napi_throw_range_error(env, NULL, "mirrorlens native: frame larger than the read buffer");
        return NULL;
      }
      break;
    }
    const uint8_t *f = (const uint8_t *)h + h->tp_mac;
    if (vlan) {
      uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
      memcpy(buf + off, f, 12);
      buf[off + 12] = tpid >> 8;
      buf[off + 13] = tpid & 0xff;
      buf[off + 14] = h->hv1.tp_vlan_tci >> 8;
      buf[off + 15] = h->hv1.tp_vlan_tci & 0xff;
      memcpy(buf + off + 16, f + 12, cap - 12);
    } else {
      memcpy(buf + off, f, cap);
    }
    const struct sockaddr_ll *ll = (const struct sockaddr_ll *)((const uint8_t *)h + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
    int32_t *m = meta + n * RING_META_WORDS;
    m[0] = (int32_t)off;
    m[1] = (int32_t)need;
    m[2] = (int32_t)(h->tp_len + (vlan ? 4 : 0));
    m[3] = (int32_t)h->tp_sec;
    m[4] = (int32_t)h->tp_nsec;
    m[5] = ll->sll_pkttype;
    m[6] = ll->sll_hatype;
    m[7] = 0;
    off += (need + 7) & ~(size_t)7;
    n++;
    r->next += h->tp_next_offset;
    if (--r->left > 0) continue;
  release:
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    r->cur = (r->cur + 1) % r->blocks;
  }
  return num(env, (double)n);
}

/* ringStats(handle) -> { packets, drops, freezes } since open (the kernel resets on each read). */
static napi_value ring_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  ring_t *r;
  if (get_ring(env, argv[0], &r)) return NULL;
  if (r->fd >= 0) {
    struct tpacket_stats_v3 st;
    socklen_t sl = sizeof st;
    if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) {
      /* tp_packets counts the dropped ones too */
      r->packets += st.tp_packets;
      r->drops += st.tp_drops;
      r->freezes += st.tp_freeze_q_cnt;
    }
  }
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  set_num(env, obj, "packets", r->packets);
  set_num(env, obj, "drops", r->drops);
  set_num(env, obj, "freezes", r->freezes);
  return obj;
}

/* ringClose(handle): unmaps and closes now (the finalizer does it otherwise). */
static napi_value ring_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  ring_t *r;
  if (get_ring(env, argv[0], &r)) return NULL;
  if (r->map) munmap(r->map, r->map_len);
  r->map = NULL;
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * readiness: a libuv poll handle calling back into JavaScript
 */

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  bool closed;
} watch_t;

static void watch_closed(uv_handle_t *h) { free(h->data); }

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  watch_t *w = p->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg;
  napi_get_reference_value(env, w->cb, &cb);
  napi_get_global(env, &recv);
  napi_create_int32(env, status, &arg);
  napi_make_callback(env, w->ctx, recv, cb, 1, &arg, NULL);
  napi_close_handle_scope(env, scope);
}

static void watch_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  (void)hint;
}

/* watch(fd, callback(status)) -> handle; the callback runs each time the descriptor is readable */
static napi_value watch_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  int32_t fd;
  if (get_i32(env, argv[0], &fd)) return NULL;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof *w);
  w->env = env;
  w->poll.data = w;
  CHECK(napi_create_reference(env, argv[1], 1, &w->cb));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "mirrorlens:recv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &w->ctx));
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc == 0) rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    napi_delete_reference(env, w->cb);
    napi_async_destroy(env, w->ctx);
    free(w);
    napi_throw_error(env, uv_err_name(rc), uv_strerror(rc));
    return NULL;
  }
  napi_value ext;
  CHECK(napi_create_external(env, w, watch_finalize, NULL, &ext));
  return ext;
}

/* unwatch(handle): stops polling (before the descriptor is closed). */
static napi_value watch_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  watch_t *w;
  CHECK(napi_get_value_external(env, argv[0], (void **)&w));
  if (!w || w->closed) return NULL;
  w->closed = true;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->cb);
  napi_async_destroy(env, w->ctx);
  uv_close((uv_handle_t *)&w->poll, watch_closed);
  return NULL;
}

/* closeFd(fd) */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  if (get_i32(env, argv[0], &fd)) return NULL;
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL},
      {"udpRecv", NULL, udp_recv, NULL, NULL, NULL, napi_default, NULL},
      {"ringOpen", NULL, ring_open, NULL, NULL, NULL, napi_default, NULL},
      {"ringRead", NULL, ring_read, NULL, NULL, NULL, napi_default, NULL},
      {"ringStats", NULL, ring_stats, NULL, NULL, NULL, napi_default, NULL},
      {"ringClose", NULL, ring_close, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, watch_start, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, watch_stop, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  napi_value v;
  napi_create_int32(env, 1, &v);
  napi_set_named_property(env, exports, "version", v);
  /* "h" + 16 hex digits (a token the preprocessor can carry whatever the digits) -> the digits */
  napi_create_string_utf8(env, STR(MIRRORLENS_SOURCE_HASH) + 1, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "sourceHash", v);
  napi_value words[3];
  napi_create_int32(env, META_WORDS, &words[0]);
  napi_create_int32(env, RING_META_WORDS, &words[1]);
  napi_create_int32(env, MAX_BATCH, &words[2]);
  napi_set_named_property(env, exports, "udpMetaWords", words[0]);
  napi_set_named_property(env, exports, "ringMetaWords", words[1]);
  napi_set_named_property(env, exports, "udpBatch", words[2]);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
