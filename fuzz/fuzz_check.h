#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant of the code under test. A failure prints where and aborts, which libFuzzer
// reports as a crash and saves the input for.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
