// Keeps a MetadataStore in step with this node's pods, as client-go's reflector does: list
// (/api/v1/pods?fieldSelector=spec.nodeName=NODE, in pages), then watch from the list's
// resourceVersion with bookmarks; each event (ADDED, MODIFIED, DELETED) applied, BOOKMARK and
// every event moving the resourceVersion on. A watch the server ends (its timeoutSeconds) is
// started again from there; 410 Gone (as an HTTP status or an ERROR event: the version is
// older than the server keeps) means a new list. Errors and an API server that is away are
// retried with exponential backoff (0.25 s doubling to 30 s, reset by a good list or event);
// meanwhile the store keeps what it had and spans go on, named by it or unnamed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json_fwd.hpp>

#include "k8s/api_client.h"
#include "k8s/metadata_store.h"
#include "k8s/owner_resolver.h"

namespace difftrace::k8s {

struct WatchCounters {
  std::atomic<std::uint64_t> lists{0};
  std::atomic<std::uint64_t> watches{0};
  std::atomic<std::uint64_t> events{0};           // ADDED, MODIFIED, DELETED applied
  std::atomic<std::uint64_t> bookmarks{0};
  std::atomic<std::uint64_t> gone{0};             // 410s: relists
  std::atomic<std::uint64_t> errors{0};           // failed lists and watches, ERROR events
  std::atomic<std::uint64_t> bad_events{0};       // lines that are no event we can read
  std::atomic<bool> synced{false};                // a list succeeded and the last call did not fail
};

struct WatchOptions {
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::seconds watch_timeout{300};  // timeoutSeconds asked of the server
  unsigned page_size = 500;
};

class PodWatcher {
 public:
  PodWatcher(const ApiClient& client, MetadataStore& store, std::string node_name,
             WatchOptions options = {});
  ~PodWatcher();
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  // Runs on a thread of its own until stop() (or destruction).
  void start();
  void stop();

  const WatchCounters& counters() const { return counters_; }
  const OwnerResolver& owners() const { return owners_; }
  std::string resource_version() const;
  // Counters as JSON, for k8s-pods and /metrics.
  nlohmann::json counters_json() const;

 private:
  void run();
  bool list();   // false: failed, back off
  void watch();  // returns when the stream ends; sets resource_version_ empty on 410
  // false: the watch must end (ERROR event)
  bool on_event(std::string_view line);
  void pause(std::chrono::milliseconds how_long);
  void failed();
  void set_version(std::string rv);

  const ApiClient& client_;
  MetadataStore& store_;
  std::string node_name_;
  WatchOptions options_;
  OwnerResolver owners_;
  WatchCounters counters_;
  mutable std::mutex mutex_;  // resource_version_, and the stop's wake-up
  std::condition_variable wake_;
  std::string resource_version_;
  std::chrono::milliseconds backoff_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace difftrace::k8s
