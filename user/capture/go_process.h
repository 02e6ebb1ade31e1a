// Which processes run Go: there goroutines move between threads (the scheduler runs any
// ready goroutine on any thread, and the netpoller wakes a goroutine on another thread than
// the one that parked it), so what one thread did says nothing of one request, and the
// kernel's thread-based causality (bpf/lib/causality.bpf.h) must not be believed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace difftrace::capture {

// An ELF file with a Go section (.go.buildinfo, .gopclntab, .note.go.buildid)?
bool is_go_executable(const std::string& path);

class GoProcesses {
 public:
  // Is pid a Go program? Looked up once per pid (its /proc/PID/exe); a process gone or
  // unreadable is not.
  bool is_go(std::uint32_t pid);
  // Called with each pid found to be a Go program (again if it is looked up again).
  void on_found(std::function<void(std::uint32_t)> found) { found_ = std::move(found); }

 private:
  std::unordered_map<std::uint32_t, bool> known_;
  std::function<void(std::uint32_t)> found_;
  static constexpr std::size_t kMaxKnown = 4096;
};

}  // namespace difftrace::capture
