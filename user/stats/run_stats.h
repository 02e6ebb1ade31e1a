// Counters of one run, written by --stats-json: the kernel's counters and,
// per endpoint (service, kind, method, path), the span count and latency
// quantiles of the spans the kernel reported.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "bpf/kernel_counters.h"
#include "capture/span.h"

namespace difftrace::stats {

class RunStats {
 public:
  void add(const capture::Span& s);
  void set_kernel(const bpf::KernelCounters& k) { kernel_ = k; }
  void add_user_counter(const std::string& name, std::uint64_t v) { user_[name] += v; }
  // The profiler's per-endpoint view (every span the filter saw, reported or not).
  void set_profile(nlohmann::json profile) { profile_ = std::move(profile); }

  const bpf::KernelCounters& kernel() const { return kernel_; }
  // A counter added with add_user_counter, 0 when none was.
  std::uint64_t user_counter(const std::string& name) const;
  std::uint64_t spans_received() const { return received_; }
  nlohmann::json to_json() const;

 private:
  // Latency samples kept per endpoint for quantiles; older ones are replaced
  // at random past this bound (reservoir), so memory stays bounded.
  static constexpr std::size_t kMaxSamples = 4096;
  struct Endpoint {
    std::uint64_t count = 0;
    std::uint64_t errors = 0;
    std::vector<std::uint64_t> samples_ns;
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  using Endpoints = std::map<Key, Endpoint, std::less<>>;
  // The endpoints last found, by a hash of a span's four texts (slot = hash % kSlots; 8 KiB:
  // the ingest bench's ~100 endpoints in 64 slots missed one span in four):
  // a hit compares the four texts once, where the map's search compared tuples of four
  // strings at each of its levels (~860 instructions a span exported). A copy of the stats
  // starts with no slots filled: they point into their own map's entries.
  struct FoundEndpoints {
    static constexpr std::size_t kSlots = 512;
    struct Slot {
      std::uint64_t hash = 0;
      Endpoints::value_type* entry = nullptr;
    };
    std::array<Slot, kSlots> slots{};
    FoundEndpoints() = default;
    FoundEndpoints(const FoundEndpoints&) {}
    FoundEndpoints& operator=(const FoundEndpoints&) {
      slots = {};
      return *this;
    }
  };
  // Transparent: a span's endpoint is looked up by views of its strings, and copied
  // into a key only the first time.
  Endpoints endpoints_;
  FoundEndpoints found_;
  bpf::KernelCounters kernel_{};
  std::map<std::string, std::uint64_t> user_;
  nlohmann::json profile_ = nlohmann::json::array();
  std::uint64_t received_ = 0;
  std::uint64_t rng_state_ = 0x9e3779b97f4a7c15ull;
};

// Writes JSON to path (truncating); throws FatalError(kUsage) if it cannot.
void write_json_file(const std::string& path, const nlohmann::json& j);
// Checks now that path can be written, so a bad path fails before tracing.
void check_writable(const std::string& path, const std::string& flag);

}  // namespace difftrace::stats
