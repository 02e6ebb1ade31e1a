// The verifier's reason and instruction count, read from a BPF_LOG_STATS log.
#include <catch2/catch.hpp>

#include "bpf/program_verification.h"

namespace difftrace::bpf {

TEST_CASE("verifier log: the reason is the last line before the statistics", "[check]") {
  const std::string log =
      "BPF program is too large. Processed 1000001 insn\n"
      "verification time 7153020 usec\n"
      "stack depth 0+240+0\n"
      "processed 1000001 insns (limit 1000000) max_states_per_insn 33 total_states 52315 "
      "peak_states 4007 mark_read 64\n";
  CHECK(verifier_reason(log) == "BPF program is too large. Processed 1000001 insn");
  CHECK(processed_insns(log) == 1000001);
}

TEST_CASE("verifier log: a loaded program's count, and an empty log", "[check]") {
  CHECK(processed_insns("processed 4242 insns (limit 1000000) max_states_per_insn 1\n") == 4242);
  CHECK(processed_insns("") == 0);
  CHECK(verifier_reason("") == "");
  CHECK(verifier_reason("R1 invalid mem access 'scalar'\nprocessed 12 insns (limit 1000000)\n") ==
        "R1 invalid mem access 'scalar'");
}

}  // namespace difftrace::bpf
