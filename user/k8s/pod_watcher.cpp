#include "k8s/pod_watcher.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace difftrace::k8s {

PodWatcher::PodWatcher(const ApiClient& client, MetadataStore& store, std::string node_name,
                       WatchOptions options)
    : client_(client),
      store_(store),
      node_name_(std::move(node_name)),
      options_(options),
      owners_([&client](const std::string& path) { return client.get(path); }),
      backoff_(options.first_backoff) {}

PodWatcher::~PodWatcher() { stop(); }

void PodWatcher::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void PodWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string PodWatcher::resource_version() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

void PodWatcher::set_version(std::string rv) {
  std::lock_guard lock(mutex_);
  resource_version_ = std::move(rv);
}

void PodWatcher::pause(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, how_long, [this] { return stop_.load(); });
}

void PodWatcher::failed() {
  counters_.errors++;
  counters_.synced = false;
  pause(backoff_);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void PodWatcher::run() {
  while (!stop_) {
    if (resource_version().empty()) {
      if (!list()) {
        failed();
        continue;
      }
    }
    watch();
  }
}

bool PodWatcher::list() {
  const std::string base =
      "/api/v1/pods?fieldSelector=" + url_encode("spec.nodeName=" + node_name_) +
      "&limit=" + std::to_string(options_.page_size);
  std::vector<PodMeta> pods;
  std::string cont, rv;
  do {
    auto r = client_.get(base + (cont.empty() ? "" : "&continue=" + url_encode(cont)));
    if (stop_) return false;
    if (r.status != 200) {
      spdlog::warn("k8s: listing pods on {}: {}", node_name_,
                   r.status ? "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200)
                            : r.error);
      return false;
    }
    try {
      auto j = nlohmann::json::parse(r.body);
      for (const auto& item : j.at("items")) {
        try {
          PodMeta p = pod_from_json(item);
          owners_.resolve(p);
          pods.push_back(std::move(p));
        } catch (const std::exception& e) {
          counters_.bad_events++;
          spdlog::debug("k8s: a listed pod was left out: {}", e.what());
        }
      }
      const auto& md = j.at("metadata");
      rv = md.value("resourceVersion", "");
      cont = md.value("continue", "");
    } catch (const std::exception& e) {
      spdlog::warn("k8s: listing pods: the answer is no PodList: {}", e.what());
      return false;
    }
  } while (!cont.empty());
  if (rv.empty()) {
    spdlog::warn("k8s: listing pods: the list has no resourceVersion");
    return false;
  }
  counters_.lists++;
  store_.replace(std::move(pods));
  set_version(rv);
  counters_.synced = true;
  backoff_ = options_.first_backoff;
  return true;
}

bool PodWatcher::on_event(std::string_view line) {
  nlohmann::json ev;
  try {
    ev = nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    counters_.bad_events++;
    return true;
  }
  const std::string type = ev.value("type", "");
  const auto obj = ev.value("object", nlohmann::json::object());
  if (type == "ERROR") {
    // A Status: 410 when the version is too old (compacted), others are the server's trouble.
    const int code = obj.value("code", 0);
    if (code == 410) {
      counters_.gone++;
      set_version("");
    } else {
      spdlog::warn("k8s: watch error {}: {}", code, obj.value("message", ""));
    }
    return false;
  }
  std::string rv;
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object())
    rv = obj["metadata"].value("resourceVersion", "");
  if (type == "BOOKMARK") {
    counters_.bookmarks++;
  } else if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
    try {
      PodMeta p = pod_from_json(obj);
      if (type == "DELETED") {
        store_.remove(p.uid);
      } else {
        owners_.resolve(p);
        store_.upsert(std::move(p));
      }
      counters_.events++;
    } catch (const std::exception& e) {
      counters_.bad_events++;
      return true;
    }
  } else {
    counters_.bad_events++;
    return true;
  }
  if (!rv.empty()) set_version(rv);
  counters_.synced = true;
  backoff_ = options_.first_backoff;
  return true;
}

void PodWatcher::watch() {
  const std::string rv = resource_version();
  const std::string path = "/api/v1/pods?fieldSelector=" +
                           url_encode("spec.nodeName=" + node_name_) +
                           "&watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(rv) +
                           "&timeoutSeconds=" + std::to_string(options_.watch_timeout.count());
  counters_.watches++;
  std::uint64_t lines = 0;
  auto r = client_.watch(
      path, [&](std::string_view line) { lines++; return on_event(line); }, stop_,
      options_.watch_timeout + std::chrono::seconds(30));
  if (stop_) return;
  if (r.status == 410) {  // the server refused the version outright
    counters_.gone++;
    set_version("");
    return;
  }
  if (resource_version().empty()) return;  // an ERROR 410 event: list again now
  if (r.status != 200 || !r.error.empty() || (r.stopped && lines)) {
    spdlog::warn("k8s: watching pods from version {}: {}", rv,
                 r.status && r.status != 200 ? "HTTP " + std::to_string(r.status)
                 : r.error.empty()           ? std::string("watch error event")
                                             : r.error);
    failed();
    return;
  }
  // The server ended the watch (its timeout, or a restart): again from the last version, at
  // once unless it ended without a word (then back off, lest a server that closes at once
  // have us spin).
  if (!lines) {
    pause(backoff_);
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  }
}

nlohmann::json PodWatcher::counters_json() const {
  return {{"lists", counters_.lists.load()},
          {"watches", counters_.watches.load()},
          {"events", counters_.events.load()},
          {"bookmarks", counters_.bookmarks.load()},
          {"gone", counters_.gone.load()},
          {"errors", counters_.errors.load()},
          {"bad_events", counters_.bad_events.load()},
          {"synced", counters_.synced.load()},
          {"owner_lookups", owners_.lookups()},
          {"owner_lookup_errors", owners_.lookup_errors()},
          {"resource_version", resource_version()}};
}

}  // namespace difftrace::k8s
