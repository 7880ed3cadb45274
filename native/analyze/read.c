/* The native capture reader (see read.h). Stub: declines every input until filled in. */
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include "read.h"

int ml_read_inputs(const char *const *paths, int n, const ml_read_opts *o, const ml_read_sink *sink, ml_read_result *out, char *why, size_t whylen) {
  (void)paths;
  (void)n;
  (void)o;
  (void)sink;
  (void)out;
  snprintf(why, whylen, "the native capture reader is not written yet");
  return ML_READ_DECLINED;
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

napi_value ml_read_result_js(napi_env env, const ml_read_result *r) {
  (void)r;
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return NULL;
  return o;
}

int ml_register_read(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return 0;
}
