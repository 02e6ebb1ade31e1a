// Spans POSTed to a tracing backend from a thread of their own: the
// machinery that otlp-http:URL and zipkin:URL share; what differs between
// them (the body) is an HttpEncoding.
//
// export_spans() only copies the spans into a bounded queue: when the queue
// is full the rest are dropped and counted, so a slow or dead backend never
// holds up the ring-buffer consumer. The sender thread takes batches (full,
// or the oldest span has waited batch_delay), encodes them, gzips them and
// POSTs them with libcurl. Connection errors, timeouts, 429, 502, 503 and 504
// are retried with exponential backoff (a Retry-After in seconds is honoured,
// up to max_backoff); other answers are final. flush() waits at most
// flush_timeout for the queue to empty, then drops and counts what is left.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "export/exporter.h"

namespace difftrace::exporters {

class CurlSession;  // http_exporter.cpp: one libcurl easy handle, used by the sender thread

// What a kind of backend wants in the POST body.
struct HttpEncoding {
  std::string kind;          // "otlp-http", "zipkin": log lines; counters are kind_with_underscores_*
  std::string content_type;  // "application/x-protobuf"
  std::function<std::string(const std::vector<capture::Span>&)> encode;
  // Of a 2xx answer's body: how many of the batch's spans the backend says it
  // refused (OTLP partial success). Empty: the backend does not say.
  std::function<std::uint64_t(const std::string& body)> rejected_spans;
};

struct HttpExportOptions {
  std::size_t queue_spans = 16384;  // spans waiting to be sent; more are dropped
  std::size_t batch_spans = 512;
  std::chrono::milliseconds batch_delay{1000};
  int max_attempts = 6;  // per batch, the first one included
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds flush_timeout{5000};
  bool gzip = true;
};

// The URL of --export KIND:URL, checked: http:// or https://, a host, and
// default_path added when it has no path ("http://collector:4318" ->
// "http://collector:4318/v1/traces"). Throws FatalError(kUsage) otherwise.
std::string check_http_url(const std::string& kind, const std::string& url,
                           const std::string& default_path);

// A Retry-After header's value as a wait, when it is a number of seconds
// ("120"); nullopt for an HTTP date or anything else.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// Whether an HTTP status is worth retrying (OTLP/HTTP: 429, 502, 503, 504).
bool retryable_status(long status);

class HttpExporter : public Exporter {
 public:
  // url: http(s)://HOST[:PORT]/PATH, checked by the caller (check_http_url).
  HttpExporter(std::string url, HttpEncoding encoding, HttpExportOptions options = {});
  ~HttpExporter() override;
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  void export_spans(const std::vector<capture::Span>& spans) override;
  void flush() override;
  std::uint64_t spans_exported() const override { return sent_.load(); }
  // <kind>_spans_sent, _dropped_queue_full, _dropped_rejected (a final non-2xx
  // answer, or refused in a 2xx answer), _dropped_after_retries,
  // _dropped_at_shutdown, _retries, _http_errors (non-2xx answers),
  // _connect_errors (no answer: refused, timed out, reset), _requests.
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  std::size_t queued_spans() const override;
  std::string failure() const override;

  const std::string& url() const { return url_; }

 private:
  void run();
  void deliver(CurlSession& curl, std::vector<capture::Span> batch);
  // Sleeps up to d; false when the batch is to be given up (flush timed out
  // or the exporter is going away).
  bool backoff(std::chrono::milliseconds d);
  void note_failure(const std::string& what);
  void note_success();

  const std::string url_;
  const HttpEncoding encoding_;
  const HttpExportOptions options_;
  const std::string counter_prefix_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the sender: spans queued, flush, stop
  std::condition_variable idle_;     // flush(): queue empty and nothing in flight
  std::deque<capture::Span> queue_;  // guarded by mu_
  std::chrono::steady_clock::time_point oldest_;  // when queue_.front() was queued
  std::size_t in_flight_ = 0;                     // spans of the batch being sent
  int flushing_ = 0;                              // flush() calls waiting
  bool stop_ = false;
  std::atomic<bool> give_up_{false};  // drop the batch in flight now

  bool failing_ = false;  // sender thread only: the last batch failed
  std::string failure_;   // guarded by mu_: what failed, while failing_

  std::atomic<std::uint64_t> sent_{0}, dropped_queue_full_{0}, dropped_rejected_{0},
      dropped_after_retries_{0}, dropped_at_shutdown_{0}, retries_{0}, http_errors_{0},
      connect_errors_{0}, requests_{0};

  std::thread thread_;  // last: started once everything above is ready
};

}  // namespace difftrace::exporters
