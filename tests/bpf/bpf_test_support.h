// Helpers for [bpf] tests: privilege and environment checks, and the sets of
// BPF program and map ids in the kernel, to prove that nothing leaks.
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <set>
#include <thread>

#include "bpf_environment.h"

namespace difftrace::testing {

// A listening socket, a client connected to it and the accepted server side (-1 when the
// client could not connect).
struct LoopbackPair {
  int listener = -1, client = -1, server = -1;
  LoopbackPair() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener, 16);
    socklen_t len = sizeof a;
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
      server = accept4(listener, nullptr, nullptr, 0);
  }
  ~LoopbackPair() {
    close(client);
    close(server);
    close(listener);
  }
  LoopbackPair(const LoopbackPair&) = delete;
  LoopbackPair& operator=(const LoopbackPair&) = delete;
};

// A child process that runs fn (its result is the exit status) only once released: the
// test makes it a target and attaches the probes first, so nothing it does comes before them.
class HeldChild {
 public:
  explicit HeldChild(const std::function<int()>& fn) {
    REQUIRE(pipe(go_) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      char c;
      close(go_[1]);
      if (read(go_[0], &c, 1) != 1) _exit(2);
      _exit(fn());
    }
    close(go_[0]);
  }
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;
  ~HeldChild() {
    if (go_[1] >= 0) close(go_[1]);  // never released: the child exits at once
  }
  pid_t pid() const { return pid_; }
  void release() {
    REQUIRE(write(go_[1], "g", 1) == 1);
    close(go_[1]);
    go_[1] = -1;
  }

 private:
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
};

inline std::set<__u32> prog_ids() {
  std::set<__u32> ids;
  for (__u32 id = 0; bpf_prog_get_next_id(id, &id) == 0;) ids.insert(id);
  return ids;
}

inline std::set<__u32> map_ids() {
  std::set<__u32> ids;
  for (__u32 id = 0; bpf_map_get_next_id(id, &id) == 0;) ids.insert(id);
  return ids;
}

// The program and map ids this process holds through its fds (/proc/self/fdinfo: program,
// link and map fds). Other processes' BPF objects (another tracer on the machine) come and
// go while a test runs: a leak check compares only its own.
struct OwnBpfIds {
  std::set<__u32> progs, maps;
};
inline OwnBpfIds own_bpf_ids() {
  OwnBpfIds out;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fdinfo")) {
    std::ifstream f(fd.path());
    std::string key;
    __u32 value;
    while (f >> key)
      if ((key == "prog_id:" || key == "map_id:") && f >> value)
        (key == "prog_id:" ? out.progs : out.maps).insert(value);
  }
  return out;
}

// The kernel frees programs and maps after an RCU grace period and a
// workqueue pass, not at close: wait (bounded) for the ids to go; returns the
// ones still there. A real leak keeps them forever and fails the check.
template <typename F>
std::set<__u32> still_present(F ids, const std::set<__u32>& gone) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::set<__u32> left;
  for (;;) {
    left.clear();
    for (__u32 id : ids())
      if (gone.count(id)) left.insert(id);
    if (left.empty() || std::chrono::steady_clock::now() >= deadline) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace difftrace::testing
