/*
 * The first pass of a targeted analysis in C: the reader (read.h) hands each TCP segment to the
 * survey (survey.h), on a libuv threadpool thread, so that the JavaScript reads the access logs
 * and the key log meanwhile. N-API:
 *
 *   firstPass(paths: string[], opts) -> Promise<{ declined: string } | { read, survey }>
 *
 * opts: the survey's options (survey-napi.c ml_survey_opts_from; pointHashes may be empty: the
 * hashes of capture point names are computed here from the reader's names), the window
 * { since, until } (numbers, -Infinity / Infinity when open), and optionally `stop`, an
 * Int32Array whose first element JavaScript sets to 1 when it no longer wants the result (the
 * analysis failed first): the reading stops at the next segment, and the promise says so. `read` is ml_read_result_js's
 * object (each TLS key log DSB with its `lines` checked here too: keylog.h), `survey` ml_survey_result's (opts.tmpDir:
 * where the survey spills its rows; the resolved result's `survey.fd` is then the caller's to close). `declined` says why the reader would not do it exactly as
 * the JavaScript does (the caller runs the JavaScript pass for the whole input).
 */
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "read.h"
#include "survey-napi.h"
#include "keylog.h"

typedef struct job {
  napi_async_work work;
  napi_deferred deferred;
  char **paths;
  int n;
  ml_read_opts ro;
  ml_survey *survey;
  ml_read_result rr;
  int status;
  int oom;
  int32_t hashed; /* capture point ids whose name hash the survey has */
  const int32_t *stop; /* opts.stop[0] != 0: JavaScript no longer wants the result (read between segments) */
  napi_ref stop_ref;   /* keeps opts.stop's buffer alive until the work completes */
  ml_keylog_dsbs keys; /* the lines of its TLS key log DSBs, checked here too (keylog.h) */
  char why[512];
} job;

/*
 * strHash (flow/conn-index.ts) of a UTF-8 name: FNV-1a over its UTF-16 code units, as JavaScript's
 * charCodeAt gives them (a code point above U+FFFF as its surrogate pair). The reader checked the
 * UTF-8; a bad sequence hashes as U+FFFD, as TextDecoder would decode it.
 */
static int32_t str_hash_utf8(const uint8_t *s, uint32_t n) {
  uint32_t h = 0x811c9dc5u;
  uint32_t i = 0;
  while (i < n) {
    uint32_t c = s[i], cp, len;
    if (c < 0x80) cp = c, len = 1;
    else if ((c & 0xe0) == 0xc0 && i + 1 < n) cp = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f), len = 2;
    else if ((c & 0xf0) == 0xe0 && i + 2 < n) cp = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f), len = 3;
    else if ((c & 0xf8) == 0xf0 && i + 3 < n)
      cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f), len = 4;
    else cp = 0xfffd, len = 1;
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      h = (h ^ (0xd800 + (cp >> 10))) * 0x01000193u;
      h = (h ^ (0xdc00 + (cp & 0x3ff))) * 0x01000193u;
    } else {
      h = (h ^ cp) * 0x01000193u;
    }
  }
  return (int32_t)h;
}

/* The reader's sink: each segment to the survey (names of new capture points hashed first). */
static int on_segment(void *ctx, const ml_segment *g) {
  job *j = ctx;
  if (j->stop && __atomic_load_n(j->stop, __ATOMIC_RELAXED) != 0) return 1;
  while (j->hashed <= g->point && j->hashed < j->rr.n_points) {
    const ml_read_point *p = &j->rr.points[j->hashed];
    if (ml_survey_set_point(j->survey, j->hashed, str_hash_utf8(j->rr.text + p->off, p->len), (const char *)j->rr.text + p->off, p->len) != 0) {
      j->oom = 1;
      return 1;
    }
    j->hashed++;
  }
  if (g->point >= j->hashed) {
    /* a point the reader did not name: cannot hash it as the JavaScript would */
    snprintf(j->why, sizeof j->why, "the native reader gave a capture point without a name");
    j->oom = 2;
    return 1;
  }
  if (ml_survey_segment(j->survey, g) != 0) {
    j->oom = 1;
    return 1;
  }
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job *j = data;
  ml_read_sink sink = {j, on_segment};
  j->status = ml_read_inputs((const char *const *)j->paths, j->n, &j->ro, &sink, &j->rr, j->why, sizeof j->why);
  if (j->status == ML_READ_OK && ml_survey_finish(j->survey, j->rr.decoded - 1) != 0) j->oom = 1;
  if (j->status == ML_READ_OK) ml_keylog_check_dsbs(&j->rr, &j->keys);
}

static void job_free(napi_env env, job *j) {
  if (j->stop_ref) napi_delete_reference(env, j->stop_ref);
  for (int k = 0; k < j->n; k++) free(j->paths[k]);
  free(j->paths);
  ml_survey_free(j->survey);
  ml_read_result_free(&j->rr);
  ml_keylog_dsbs_free(&j->keys);
  free(j);
}

static napi_value declined(napi_env env, const char *why) {
  napi_value o, v;
  if (napi_create_object(env, &o) != napi_ok || napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, o, "declined", v) != napi_ok)
    return NULL;
  return o;
}

static void complete(napi_env env, napi_status st, void *data) {
  job *j = data;
  napi_value out = NULL;
  int rows_in_out = 0; /* out holds the survey's rows (and its spill file's descriptor) */
  if (st != napi_ok) out = declined(env, "the native first pass was cancelled");
  else if (j->oom == 1) out = declined(env, "the native first pass ran out of memory");
  else if (j->oom == 2 || j->status == ML_READ_DECLINED) out = declined(env, j->why[0] ? j->why : "the native reader declined");
  else if (j->status != ML_READ_OK) out = declined(env, "the native first pass was stopped");
  else {
    napi_value r = ml_read_result_js(env, &j->rr), s = r ? ml_survey_result(env, j->survey) : NULL;
    if (r && ml_keylog_attach_dsbs(env, r, &j->keys) != 0) r = NULL;
    if (r && s && napi_create_object(env, &out) == napi_ok) {
      if (napi_set_named_property(env, out, "read", r) != napi_ok || napi_set_named_property(env, out, "survey", s) != napi_ok) out = NULL;
      rows_in_out = out != NULL;
    } else out = NULL;
  }
  if (out != NULL) {
    /* resolved with the rows: the survey's spill file (its descriptor in the result) is the JavaScript's to read and
       close; on every other path (declined, stopped, failed) job_free closes it */
    if (napi_resolve_deferred(env, j->deferred, out) == napi_ok && rows_in_out) ml_survey_release_spill(j->survey);
  } else {
    napi_value err, msg;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &err);
    else {
      napi_create_string_utf8(env, "firstPass: making its result failed", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &err);
    }
    napi_reject_deferred(env, j->deferred, err);
  }
  napi_delete_async_work(env, j->work);
  job_free(env, j);
}

/*
 * glibc's heap trimming, set once per process when the first pass first runs, or when `analyze`
 * runs its full pipeline (keepHeapsTrimmed(); process-wide: it holds for whoever loaded this addon,
 * a library user's program too).
 *
 * glibc gives memory freed at the top of a heap back to the system only beyond its trim threshold,
 * and it raises that threshold (to twice its mmap threshold, which it raises to the size of the
 * largest mmapped block freed, up to 32 MiB) as big blocks come and go. This addon's own big
 * buffers are mapped, not malloc'ed, for that reason (read.c, survey.c), but Node reading a 2 MB
 * key log (readFileSync builds the text in a doubling std::string) still takes it to 4 MiB, after
 * which each thread's arena (the thread pool's, V8's compiler and GC threads') keeps up to 4 MiB it
 * no longer uses: at 10x the bench capture 10.8 MiB of such arenas against 1.4 MiB with a 128 KiB
 * threshold, and the peak RSS grew with the capture for it. This fixes the threshold at 512 KiB
 * (which also stops glibc raising its mmap threshold from here on). Measured (12 alternating runs
 * of the 1x bench, docs/performance.md "Memory with capture length"): peak RSS 69.1 -> 64.9 MiB at
 * 1x, 78.2 -> 70.3 at 10x; CPU 0.270 s median both ways; +670 page faults. 128 KiB (glibc's
 * default before it raises it) kept 1 MiB less at 10x but cost +1 700 page faults and 0.01 s.
 *
 * Whoever chose glibc's malloc settings (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_,
 * MALLOC_TOP_PAD_ or GLIBC_TUNABLES glibc.malloc.*) keeps them: nothing is changed then.
 */
static void keep_heaps_trimmed(void) {
#ifdef __GLIBC__
  static int done;
  if (done) return;
  done = 1;
  const char *t = getenv("GLIBC_TUNABLES");
  if (getenv("MALLOC_TRIM_THRESHOLD_") || getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TOP_PAD_") || (t && strstr(t, "glibc.malloc.")))
    return;
  mallopt(M_TRIM_THRESHOLD, 512 * 1024);
#endif
}

static napi_value first_pass(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_array = false;
  uint32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > 65535) {
    napi_throw_type_error(env, NULL, "firstPass(paths: string[] (1 to 65535), opts)");
    return NULL;
  }
  keep_heaps_trimmed();
  job *j = calloc(1, sizeof *j);
  if (!j || !(j->paths = calloc(n, sizeof(char *)))) {
    free(j);
    napi_throw_error(env, NULL, "firstPass: out of memory");
    return NULL;
  }
  j->n = (int)n;
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    size_t len = 0;
    if (napi_get_element(env, argv[0], k, &v) != napi_ok || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok ||
        !(j->paths[k] = malloc(len + 1)) || napi_get_value_string_utf8(env, v, j->paths[k], len + 1, &len) != napi_ok || strlen(j->paths[k]) != len) {
      job_free(env, j);
      napi_throw_type_error(env, NULL, "firstPass: paths must be strings without NUL");
      return NULL;
    }
  }
  ml_survey_opts so;
  int e = ml_survey_opts_from(env, argv[1], &so, &j->survey);
  if (e == 0 && (ml_get_double(env, argv[1], "since", &j->ro.since) || ml_get_double(env, argv[1], "until", &j->ro.until))) e = -1;
  if (e != 0) {
    job_free(env, j);
    if (e == -2) napi_throw_error(env, NULL, "firstPass: out of memory");
    else napi_throw_type_error(env, NULL, "firstPass: bad options");
    return NULL;
  }
  napi_value stop;
  bool has_stop = false, is_ta = false;
  if (napi_has_named_property(env, argv[1], "stop", &has_stop) == napi_ok && has_stop) {
    napi_typedarray_type t;
    size_t len = 0;
    void *data = NULL;
    if (napi_get_named_property(env, argv[1], "stop", &stop) != napi_ok || napi_is_typedarray(env, stop, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, stop, &t, &len, &data, NULL, NULL) != napi_ok || t != napi_int32_array || len < 1 ||
        napi_create_reference(env, stop, 1, &j->stop_ref) != napi_ok) {
      job_free(env, j);
      napi_throw_type_error(env, NULL, "firstPass: opts.stop must be an Int32Array");
      return NULL;
    }
    j->stop = data;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok || napi_create_string_utf8(env, "mirrorlens.firstPass", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok || napi_queue_async_work(env, j->work) != napi_ok) {
    /* (a created promise is left unresolved: the throw is what the caller sees) */
    job_free(env, j);
    napi_throw_error(env, NULL, "firstPass: could not queue the work");
    return NULL;
  }
  return promise;
}

/* keepHeapsTrimmed(): keep_heaps_trimmed for an analysis that runs no first pass (the full pipeline). */
static napi_value keep_heaps_trimmed_js(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  keep_heaps_trimmed();
  return NULL;
}

int ml_register_first_pass(napi_env env, napi_value exports) {
  if (ml_export(env, exports, "keepHeapsTrimmed", keep_heaps_trimmed_js) != 0) return -1;
  return ml_export(env, exports, "firstPass", first_pass);
}
