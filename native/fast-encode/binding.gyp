{
  "targets": [
    {
      "target_name": "fast_encode",
      "sources": ["fast_encode.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing", "-ffp-contract=off"]
    }
  ]
}
