// Each capture program's verification cost, measured by this kernel
// (bpf_prog_info.verified_insns), against its budget in user/bpf/verifier_budget.h:
// a change that makes the verifier's walk costlier fails here, not on a user's node.
#include <catch2/catch.hpp>

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include "bpf/program_verification.h"
#include "bpf/verifier_budget.h"
#include "bpf_environment.h"

namespace difftrace::bpf {
namespace {

// Is the running kernel at least major.minor (uname's release)?
bool kernel_at_least(int major, int minor) {
  utsname u{};
  int ma = 0, mi = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

TEST_CASE("every capture program loads within its verifier budget", "[bpf][budget]") {
  testing::require_bpf_environment();
  const auto programs = verify_capture_programs();
  REQUIRE_FALSE(programs.empty());
  for (const auto& p : programs) {
    if (!p.not_here.empty()) {
      // the sockets source on a kernel without trampolines, tcp_sendpage after 6.5
      WARN(p.name << " not loaded on this kernel: " << p.not_here);
      continue;
    }
    INFO(p.name << ": " << p.verified_insns << " verified instructions, budget " << p.budget
                << (p.loaded ? "" : ", refused: " + p.error));
    // Optional (HTTP/2's followers): difftrace runs without them where a kernel refuses them,
    // but every kernel CI runs (6.1, 6.12, 6.18) takes them: a refusal there is a regression.
    if (!p.loaded && verifier_optional(p.name) && !kernel_at_least(6, 1)) {
      WARN(p.name << " refused by this kernel (optional: difftrace runs without it): " << p.error);
      continue;
    }
    CHECK(p.loaded);
    CHECK(p.verified_insns > 0);  // the kernel said how many
    CHECK(p.verified_insns <= p.budget);
    CHECK(p.budget == verifier_budget(p.name));
  }
}

TEST_CASE("every verifier budget names a capture program", "[bpf][budget]") {
  // A renamed or removed program must not leave a budget that guards nothing.
  testing::require_bpf_environment();
  const auto programs = verify_capture_programs();
  for (const auto& b : kVerifierBudgets) {
    INFO("budget entry: " << b.program);
    CHECK(std::any_of(programs.begin(), programs.end(),
                      [&](const ProgramVerification& p) { return p.name == b.program; }));
    CHECK(b.max_verified_insns <= kVerifierInsnLimit);
  }
}

}  // namespace difftrace::bpf
