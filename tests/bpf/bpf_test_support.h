// Helpers for [bpf] tests: privilege and environment checks, and the sets of
// BPF program and map ids in the kernel, to prove that nothing leaks.
#pragma once

#include <bpf/bpf.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "bpf_environment.h"

namespace difftrace::testing {

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

// The kernel frees programs and maps after an RCU grace period and a
// workqueue pass, not at close: wait (bounded) for the ids to go. A real leak
// keeps them forever and fails the check.
template <typename F>
std::set<__u32> settled_ids(F ids, const std::set<__u32>& expected) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto now = ids();
  while (now != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = ids();
  }
  return now;
}

}  // namespace difftrace::testing
