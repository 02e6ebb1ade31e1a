// A child process traced by the capture program, talking HTTP over loopback: the helpers the
// live [bpf] tests share (test_capture_live.cpp, test_causality_live.cpp).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "bpf/capture_program.h"
#include "bpf_test_support.h"
#include "capture/collector.h"

namespace difftrace::testing {

inline void read_exactly(int fd, std::size_t n) {
  std::vector<char> buf(65536);
  while (n > 0) {
    ssize_t r = read(fd, buf.data(), std::min(n, buf.size()));
    if (r <= 0) _exit(3);
    n -= static_cast<std::size_t>(r);
  }
}

inline void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t w = write(fd, s.data() + off, s.size() - off);
    if (w <= 0) _exit(4);
    off += static_cast<std::size_t>(w);
  }
}

inline std::string response(int status, std::size_t body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body) +
         "\r\n\r\n" + std::string(body, 'b');
}

// Every span still in the ring buffer, once the traced child has exited.
inline void drain_into(capture::Collector& collector, std::vector<capture::Span>& spans) {
  for (bool more = true; more;) {
    more = collector.drain();
    auto batch = collector.take();
    spans.insert(spans.end(), batch.begin(), batch.end());
  }
}

// The targets that make the child (pid) traced.
using TargetsOf = std::function<targets::TargetSet(pid_t)>;

inline targets::TargetSet pid_target(pid_t child) {
  targets::TargetSet t;
  t.pids.push_back(child);
  return t;
}

// Runs fn in a child that waits until the probes are attached; returns the
// spans the kernel reported for it.
inline std::vector<capture::Span> trace_child(const std::function<void()>& fn,
                                              bpf::KernelCounters* counters = nullptr,
                                              const TargetsOf& targets_of = pid_target) {
  HeldChild held([&] {
    fn();
    return 0;
  });
  const pid_t child = held.pid();
  std::vector<capture::Span> spans;
  {
    bpf::CaptureProgram program(targets_of(child));
    program.attach();
    capture::WallClock clock;
    capture::SpanDecoder decoder(clock);
    capture::Collector collector(program.events_fd(), decoder);
    held.release();
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
      collector.poll(50);
      auto batch = collector.take();
      spans.insert(spans.end(), batch.begin(), batch.end());
    }
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    drain_into(collector, spans);
    if (counters) *counters = program.read_counters();
  }
  return spans;
}

}  // namespace difftrace::testing
