// Root-only tests against the running kernel: they load the real BPF
// programs. Run as root; each test fails (never skips) without privileges.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
