// What every protocol's case table shares: steps of raw I/O on one connection, each turned
// into a window and chunk by the kernel's own chunk building (include/dt/chunk_build.h), and
// run through a driver of the protocol contract (include/protocols/protocol.h: feed and close
// on a state, a finished exchange copied out) on the host or in the kernel.
//
// A new protocol <name> brings:
//   - tests/common/cases/<name>_cases.{h,cpp}: its Case and Expected types and table, a
//     HostDriver (a ProtocolDriver<its state> calling <name>_feed/<name>_close) and a
//     check_case that compares what run_steps gives with the table;
//   - in the kernel, an op of the test entry (include/http_test.h, bpf/http_test.bpf.c) that
//     calls the same <name>_feed/<name>_close, and a kernel driver (tests/bpf/kernel_driver.*)
//     that is the same ProtocolDriver<its state>;
//   - a unit test running the table on the host, and a [bpf] test running it through both
//     drivers: check_case on the kernel's result, parity_diff between the two.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "dt/chunk_build.h"
#include "protocols/protocol.h"

namespace difftrace::testing {

// One I/O on the connection, or its close.
struct Step {
  int dir = DT_DIR_INGRESS;  // DT_DIR_INGRESS: the traced process read it
  std::string data;          // empty with close=true: the connection closed
  bool close = false;
};

// One step's input, as a syscall hands it to a protocol.
struct StepInput {
  dt_window win{};
  std::uint32_t win_len = 0;
  std::uint64_t total_len = 0;
  std::uint8_t tail[DT_TAIL]{};
  std::uint32_t tail_len = 0;
};
// Through the kernel's chunk building, as one buffer.
StepInput make_input(const std::string& data);
// The chunk a protocol reads beside in.win (direction and times unset).
dt_chunk chunk_of(const StepInput& in);

// Something that runs a protocol's feed and close (results: enum dt_feed_result bits):
// the host code or the kernel.
template <typename State>
class ProtocolDriver {
 public:
  virtual ~ProtocolDriver() = default;
  virtual int feed(State& x, int dir, const StepInput& in, std::uint64_t t0, std::uint64_t t1,
                   State& done) = 0;
  virtual int close(State& x, std::uint64_t t, State& done) = 0;
};

template <typename State>
struct StepsResult {
  std::vector<State> finished;
  std::vector<State> states;  // connection state after every step
  std::vector<int> results;   // what every step answered (enum dt_feed_result bits)
  int ignored = 0;            // steps answered DT_FEED_INVALID
};

// The steps on one connection from a zeroed state; times advance 10 ns a step.
template <typename State>
StepsResult<State> run_steps(const std::vector<Step>& steps, ProtocolDriver<State>& d) {
  StepsResult<State> r;
  State x{};
  std::uint64_t t = 1000;
  for (const auto& step : steps) {
    State done{};
    int res;
    if (step.close)
      res = d.close(x, t += 10, done);
    else
      res = d.feed(x, step.dir, make_input(step.data), t + 1, t + 5, done), t += 10;
    r.results.push_back(res);
    if (res & DT_FEED_DONE) r.finished.push_back(done);
    if (res & DT_FEED_INVALID) r.ignored++;
    r.states.push_back(x);
  }
  return r;
}

// Two drivers' runs of the same steps, byte for byte (kernel/host parity): empty when the
// same, else where they differ.
template <typename State>
std::string parity_diff(const StepsResult<State>& a, const StepsResult<State>& b) {
  std::ostringstream err;
  auto same = [](const State& x, const State& y) { return std::memcmp(&x, &y, sizeof(State)) == 0; };
  if (a.results != b.results) err << "step results differ\n";
  if (a.states.size() != b.states.size())
    err << a.states.size() << " states against " << b.states.size() << "\n";
  for (std::size_t i = 0; i < std::min(a.states.size(), b.states.size()); i++)
    if (!same(a.states[i], b.states[i])) err << "connection state after step " << i << " differs\n";
  if (a.finished.size() != b.finished.size())
    err << a.finished.size() << " finished exchanges against " << b.finished.size() << "\n";
  for (std::size_t i = 0; i < std::min(a.finished.size(), b.finished.size()); i++)
    if (!same(a.finished[i], b.finished[i])) err << "finished exchange " << i << " differs\n";
  return err.str();
}

}  // namespace difftrace::testing
