#include "kernel_driver.h"

#include <bpf/bpf.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "http_test.skel.h"

namespace difftrace::testing {

void KernelDriver::SkelDeleter::operator()(http_test* s) const { http_test__destroy(s); }

namespace {

// Why the test entry did not load: loaded again with the verifier's messages and statistics
// (log level 4: no instruction dump, so a small buffer holds it), the log's last lines.
std::string load_failure() {
  static std::vector<char> log(1u << 20, '\0');
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  opts.kernel_log_buf = log.data();
  opts.kernel_log_size = log.size();
  opts.kernel_log_level = 4;
  http_test* s = http_test__open_opts(&opts);
  if (!s) return "http_test__open_opts failed: " + std::string(std::strerror(errno));
  const int err = http_test__load(s);
  http_test__destroy(s);
  std::string text(log.data());
  const size_t keep = 3000;
  if (text.size() > keep) text = "..." + text.substr(text.size() - keep);
  return "load: " + std::string(std::strerror(-err)) + "\nverifier log (end):\n" + text;
}

}  // namespace

KernelDriver::KernelDriver() : skel_(http_test__open_and_load()) {
  if (!skel_) FAIL("the test entry (bpf/http_test.bpf.c) did not load: " << load_failure());
  step_ = std::make_unique<dt_http_test_step>();
}

KernelDriver::~KernelDriver() = default;

int KernelDriver::feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0,
                       std::uint64_t t1, http_exchange& done) {
  std::memset(step_.get(), 0, sizeof *step_);
  step_->op = DT_HTTP_TEST_FEED;
  step_->x = x;
  step_->win = in.win;
  step_->win_len = in.win_len;
  step_->total_len = in.total_len;
  std::memcpy(step_->tail, in.tail, DT_TAIL);
  step_->tail_len = in.tail_len;
  step_->dir = static_cast<__u8>(dir);
  step_->ts_enter = t0;
  step_->ts_exit = t1;
  return run(x, done);
}

int KernelDriver::close(http_exchange& x, std::uint64_t t, http_exchange& done) {
  std::memset(step_.get(), 0, sizeof *step_);
  step_->op = DT_HTTP_TEST_CLOSE;
  step_->x = x;
  step_->ts_exit = t;
  return run(x, done);
}

dt_http_test_step& KernelDriver::fresh_step(int op) {
  std::memset(step_.get(), 0, sizeof *step_);
  step_->op = static_cast<__u8>(op);
  return *step_;
}

void KernelDriver::run_stateless() {
  http_exchange x{}, done{};
  run(x, done);
}

std::string KernelDriver::path_template(const std::string& path) {
  auto& step = fresh_step(DT_HTTP_TEST_TEMPLATE);
  std::size_t n = std::min<std::size_t>(path.size(), HTTP_PATH_MAX - 1);
  std::memcpy(step.x.path, path.data(), n);
  step.x.path_len = static_cast<__u8>(n);
  run_stateless();
  return std::string(step_->tmpl.text, step_->tmpl.len);
}

dt_filter_result KernelDriver::filter_decide(const dt_filter_input& in) {
  fresh_step(DT_HTTP_TEST_FILTER).filter_in = in;
  run_stateless();
  return step_->filter_out;
}

std::uint32_t KernelDriver::hist_bucket(std::uint64_t ns) {
  fresh_step(DT_HTTP_TEST_HIST).hist_ns = ns;
  run_stateless();
  return step_->hist_bucket;
}

int KernelDriver::filter_span(dt_span_event& ev, const dt_filter_settings& settings,
                              std::uint8_t epoch, bool* overwritten, bool* evicted) {
  auto& step = fresh_step(DT_HTTP_TEST_FILTER_SPAN);
  step.ev = ev;
  step.fset = settings;
  step.epoch = epoch;
  run_stateless();
  ev = step_->ev;
  if (overwritten) *overwritten = step_->overwritten;
  if (evicted) *evicted = step_->evicted;
  return step_->outcome;
}

ChunkOut KernelDriver::chunk(const dt_io& io) {
  fresh_step(DT_HTTP_TEST_CHUNK).io = io;
  run_stateless();
  ChunkOut out;
  out.ret = step_->result ? -1 : 0;
  out.win = step_->win;
  out.ch.win_len = step_->win_len;
  out.ch.total_len = step_->total_len;
  out.ch.tail_len = step_->tail_len;
  std::memcpy(out.ch.tail, step_->tail, DT_TAIL);
  out.ch.dir = step_->dir;
  out.ch.ts_enter = step_->ts_enter;
  return out;
}

int KernelDriver::h2_feed(std::uint64_t key, const dt_window& w, const dt_chunk& ch,
                          h2_stream& done, h2_out& out) {
  auto& step = fresh_step(DT_HTTP_TEST_H2_FEED);
  step.h2_key = key;
  step.win = w;
  step.win_len = ch.win_len;
  step.total_len = ch.total_len;
  step.dir = ch.dir;
  step.ts_enter = ch.ts_enter;
  step.ts_exit = ch.ts_exit;
  run_stateless();
  done = step_->h2_done;
  out = step_->h2_out;
  return step_->result;
}

int KernelDriver::h2_close(std::uint64_t key, std::uint64_t ts, h2_stream& done) {
  auto& step = fresh_step(DT_HTTP_TEST_H2_CLOSE);
  step.h2_key = key;
  step.ts_exit = ts;
  run_stateless();
  done = step_->h2_done;
  return step_->result;
}

int KernelDriver::h2_lost(std::uint64_t key, int dir) {
  auto& step = fresh_step(DT_HTTP_TEST_H2_LOST);
  step.h2_key = key;
  step.dir = static_cast<__u8>(dir);
  run_stateless();
  return step_->result;
}

h2s_result KernelDriver::h2s_block(h2s_table& table, const std::string& block, bool request) {
  auto& step = fresh_step(DT_HTTP_TEST_H2S_BLOCK);
  REQUIRE(block.size() <= DT_WIN);
  std::memcpy(step.win.data, block.data(), block.size());
  step.h2s = table;
  step.h2s_len = static_cast<__u32>(block.size());
  step.h2s_request = request ? 1 : 0;
  run_stateless();
  table = step_->h2s;
  return step_->h2s_r;
}

const bpf_object* KernelDriver::object() const { return skel_->obj; }

int KernelDriver::run(http_exchange& x, http_exchange& done) {
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

int KernelEngine::feed(http_exchange& x, dt_window& w, dt_chunk& ch,
                       http_exchange& done) {
  StepInput in;
  in.win = w;
  in.win_len = ch.win_len;
  in.total_len = ch.total_len;
  in.tail_len = ch.tail_len;
  std::memcpy(in.tail, ch.tail, DT_TAIL);
  return kernel_.feed(x, ch.dir, in, ch.ts_enter, ch.ts_exit, done);
}

}  // namespace difftrace::testing
