{
  "targets": [
    {
      "target_name": "mirrorlens_recv",
      "sources": ["native/recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["MIRRORLENS_SOURCE_HASH=h<!(node scripts/native-hash.mjs)"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/recv.c"]}]]
    }
  ]
}
