// The sockets hook source's promise (bpf/sources/sockets.bpf.h): where it runs, a process's
// non-socket syscalls enter no difftrace program at all, and its socket I/O enters only the
// socket hooks. Counted with the kernel's own run counts (BPF_ENABLE_STATS), not timed. On a
// kernel without BPF trampolines (this 6.18 host) the source cannot run and the test says so;
// the kernel matrix runs it in the 6.1 and 6.12 guests, where auto picks sockets.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "bpf/capture_program.h"
#include "bpf/kernel_hooks.h"
#include "bpf_test_support.h"
#include "targets/target_set.h"

using namespace difftrace;

namespace {

// Every loaded program's run count, summed.
std::uint64_t total_runs(const bpf::CaptureProgram& program) {
  std::uint64_t runs = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, const_cast<bpf_object*>(program.object())) {
    if (bpf_program__fd(prog) < 0) continue;
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) runs += info.run_cnt;
  }
  return runs;
}

}  // namespace

TEST_CASE("with the sockets source, untargeted file I/O runs no difftrace program", "[bpf]") {
  testing::require_bpf_environment();
  if (!bpf::probe_kernel_hooks().trampolines) {
    WARN("no BPF trampolines on this kernel: the sockets source cannot run here");
    return;
  }
  const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  REQUIRE(stats >= 0);
  targets::TargetSet t;
  t.comms.push_back("no-such-comm");
  bpf::CaptureProgram program(t, {}, bpf::HookSourceMode::kSockets);
  program.attach();
  REQUIRE(program.source() == "sockets");

  const int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
  REQUIRE(in >= 0);
  REQUIRE(out >= 0);
  const std::uint64_t before = total_runs(program);
  char byte;
  constexpr int kCopies = 10'000;  // 20,000 syscalls, none on a socket
  for (int i = 0; i < kCopies; i++) {
    REQUIRE(read(in, &byte, 1) == 1);
    REQUIRE(write(out, &byte, 1) == 1);
  }
  const std::uint64_t after = total_runs(program);
  close(in);
  close(out);
  close(stats);
  INFO("difftrace program runs during " << 2 * kCopies << " file syscalls: " << after - before);
  // Nothing else on the machine is expected to run them 2,000 times in these milliseconds;
  // the syscalls source would have run sys_enter and sys_exit 40,000 times.
  CHECK(after - before < 2'000);
}
