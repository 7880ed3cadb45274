{
  "targets": [
    {
      "target_name": "mirrorlens_recv",
      "sources": ["native/recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/recv.c"]}]]
    }
  ]
}
