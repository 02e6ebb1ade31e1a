// Runs the HTTP/1.x boundary functions in the kernel: each step goes through
// the loaded test entry (bpf/http_test.bpf.c) with BPF_PROG_TEST_RUN.
#pragma once

#include <memory>
#include <string>

#include "common/cases/chunk_cases.h"
#include "common/cases/http1_cases.h"
#include "http_test.h"
#include "replay/boundary_engine.h"

struct http_test;
struct bpf_object;

namespace difftrace::testing {

class KernelDriver : public Driver {
 public:
  KernelDriver();  // loads the test entry; REQUIREs success
  ~KernelDriver() override;
  int feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0, std::uint64_t t1,
           http_exchange& done) override;
  int close(http_exchange& x, std::uint64_t t, http_exchange& done) override;
  // dt_path_template_of run in the kernel.
  std::string path_template(const std::string& path);
  // dt_filter_decide run in the kernel.
  dt_filter_result filter_decide(const dt_filter_input& in);
  // dt_hist_bucket run in the kernel.
  std::uint32_t hist_bucket(std::uint64_t ns);
  // dt_filter_span run in the kernel on the test entry's filter maps; ev in and out.
  int filter_span(dt_span_event& ev, const dt_filter_settings& settings, std::uint8_t epoch,
                  bool* overwritten = nullptr, bool* evicted = nullptr);
  // dt_chunk_window and dt_chunk_tail run in the kernel on io, whose data is in this
  // process's memory.
  ChunkOut chunk(const dt_io& io);
  // HTTP/2's h2_feed, h2_close and h2_lost run in the kernel on the test entry's own state of
  // connection key (created empty on its first step).
  int h2_feed(std::uint64_t key, const dt_window& w, const dt_chunk& ch, h2_stream& done,
              h2_out& out);
  int h2_close(std::uint64_t key, std::uint64_t ts, h2_stream& done);
  int h2_lost(std::uint64_t key, int dir);
  // The HPACK shadow's h2s_block run in the kernel on table (in and out) over block.
  h2s_result h2s_block(h2s_table& table, const std::string& block, bool request);
  const bpf_object* object() const;

 private:
  int run(http_exchange& x, http_exchange& done);
  // A zeroed step for op; run_stateless runs it with no connection state.
  dt_http_test_step& fresh_step(int op);
  void run_stateless();
  struct SkelDeleter {
    void operator()(http_test* s) const;
  };
  std::unique_ptr<http_test, SkelDeleter> skel_;
  std::unique_ptr<dt_http_test_step> step_;
};

// The same, for replay: the chunks a reassembled stream gives.
class KernelEngine : public replay::BoundaryEngine {
 public:
  int feed(http_exchange& x, dt_window& w, dt_chunk& ch, http_exchange& done) override;
  int close(http_exchange& x, std::uint64_t t, http_exchange& done) override {
    return kernel_.close(x, t, done);
  }

 private:
  KernelDriver kernel_;
};

}  // namespace difftrace::testing
