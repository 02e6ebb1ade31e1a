// The boundary cases of tests/common/http_cases.cpp, run in the kernel
// through the loaded test entry (bpf/http_test.bpf.c, which calls the same
// http_feed/http_close as the capture program) and compared with the host,
// step by step and byte for byte.
#include <bpf/bpf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>

#include "bpf_test_support.h"
#include "common/http_cases.h"
#include "http_test.h"
#include "http_test.skel.h"

using namespace difftrace::testing;

namespace {

struct SkelDeleter {
  void operator()(http_test* s) const { http_test__destroy(s); }
};

class KernelDriver : public Driver {
 public:
  KernelDriver() : skel_(http_test__open_and_load()) {
    REQUIRE(skel_ != nullptr);
    step_ = std::make_unique<dt_http_test_step>();
  }

  int feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0, std::uint64_t t1,
           http_exchange& done) override {
    std::memset(step_.get(), 0, sizeof *step_);
    step_->op = DT_HTTP_TEST_FEED;
    step_->x = x;
    step_->win = in.win;
    step_->win_len = in.win_len;
    step_->total_len = in.total_len;
    std::memcpy(step_->tail, in.tail, HTTP_TAIL);
    step_->tail_len = in.tail_len;
    step_->dir = static_cast<__u8>(dir);
    step_->ts_enter = t0;
    step_->ts_exit = t1;
    return run(x, done);
  }

  int close(http_exchange& x, std::uint64_t t, http_exchange& done) override {
    std::memset(step_.get(), 0, sizeof *step_);
    step_->op = DT_HTTP_TEST_CLOSE;
    step_->x = x;
    step_->ts_exit = t;
    return run(x, done);
  }

 private:
  int run(http_exchange& x, http_exchange& done) {
    __u32 zero = 0;
    int map_fd = bpf_map__fd(skel_->maps.steps);
    REQUIRE(bpf_map_update_elem(map_fd, &zero, step_.get(), BPF_ANY) == 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.http_test_step), &opts) == 0);
    REQUIRE(opts.retval == 0);
    REQUIRE(bpf_map_lookup_elem(map_fd, &zero, step_.get()) == 0);
    x = step_->x;
    done = step_->done;
    return step_->result;
  }

  std::unique_ptr<http_test, SkelDeleter> skel_;
  std::unique_ptr<dt_http_test_step> step_;
};

}  // namespace

TEST_CASE("kernel and host agree on every boundary case", "[bpf][http]") {
  require_bpf_environment();
  KernelDriver kernel;
  HostDriver host;
  for (const auto& c : http_cases()) {
    INFO(c.name);
    auto k = run_case(c, kernel);
    auto h = run_case(c, host);
    CHECK(check_case(c, k) == "");
    REQUIRE(k.states.size() == h.states.size());
    for (std::size_t i = 0; i < k.states.size(); i++) {
      INFO("connection state after step " << i);
      CHECK(std::memcmp(&k.states[i], &h.states[i], sizeof(http_exchange)) == 0);
    }
    REQUIRE(k.finished.size() == h.finished.size());
    for (std::size_t i = 0; i < k.finished.size(); i++) {
      INFO("finished exchange " << i);
      CHECK(std::memcmp(&k.finished[i], &h.finished[i], sizeof(http_exchange)) == 0);
    }
  }
}
