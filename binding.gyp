{
  "targets": [
    {
      "target_name": "mirrorlens_recv",
      "sources": ["native/recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["MIRRORLENS_SOURCE_HASH=h<!(node scripts/native-hash.mjs)"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/recv.c"]}]]
    },
    {
      "target_name": "mirrorlens_analyze",
      "sources": ["native/analyze/addon.c", "native/analyze/read.c", "native/analyze/read-napi.c", "native/analyze/decode.c", "native/analyze/survey.c", "native/analyze/survey-napi.c", "native/analyze/tls-walk.c", "native/analyze/first-pass.c", "native/analyze/uid.c", "native/analyze/alb-scan.c", "native/analyze/keylog.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["MIRRORLENS_ANALYZE_HASH=h<!(node scripts/native-hash.mjs analyze)"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/analyze/addon.c", "native/analyze/read.c", "native/analyze/read-napi.c", "native/analyze/decode.c", "native/analyze/survey.c", "native/analyze/survey-napi.c", "native/analyze/tls-walk.c", "native/analyze/first-pass.c", "native/analyze/uid.c", "native/analyze/alb-scan.c", "native/analyze/keylog.c"]}]]
    }
  ]
}
