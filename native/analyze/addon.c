/*
 * The mirrorlens_analyze addon's entry: exports `sourceHash` (of the files in native/analyze/, see
 * scripts/native-hash.mjs) and `version`, then each part's functions (ml.h).
 */
#include "ml.h"
#include "keylog.h"

#ifndef MIRRORLENS_ANALYZE_HASH
#error "build with binding.gyp (node-gyp): it defines MIRRORLENS_ANALYZE_HASH"
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

int ml_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) != napi_ok) return -1;
  return napi_set_named_property(env, exports, name, f) == napi_ok ? 0 : -1;
}

int ml_get_double(napi_env env, napi_value o, const char *name, double *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, o, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_number) return -1;
  return napi_get_value_double(env, v, out) == napi_ok ? 0 : -1;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value v;
  /* "h" + 16 hex digits (the define cannot start with a digit): the hash is what follows the h */
  const char *hash = STR(MIRRORLENS_ANALYZE_HASH) + 1;
  if (napi_create_string_utf8(env, hash, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, exports, "sourceHash", v);
  if (napi_create_int32(env, 1, &v) == napi_ok) napi_set_named_property(env, exports, "version", v);
  if (ml_register_read(env, exports) != 0 || ml_register_survey(env, exports) != 0 || ml_register_albscan(env, exports) != 0 ||
      ml_register_keylog(env, exports) != 0) {
    napi_throw_error(env, NULL, "mirrorlens_analyze: registering its functions failed");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
