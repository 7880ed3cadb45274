/* (placeholder: filled in by its owner; see native/analyze/ml.h) */
#include "ml.h"

int ml_register_survey(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return 0;
}
