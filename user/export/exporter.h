// Where spans go. Each --export SPEC makes one exporter.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

class Exporter {
 public:
  virtual ~Exporter() = default;
  // Called by the ring-buffer consumer: must not block it (network exporters
  // queue the spans and send them from their own thread).
  virtual void export_spans(const std::vector<capture::Span>& spans) = 0;
  // At the end of a run: writes or sends what is buffered, waiting a bounded time.
  virtual void flush() {}
  // During a run, at every pipeline tick: makes what was exported so far visible to a
  // reader of a file (tail -f, a Collector's filelog receiver). Never waits on the network.
  virtual void sync() {}
  virtual std::uint64_t spans_exported() const = 0;
  // The exporter's own counters for --stats-json, named as they are to appear
  // there (e.g. otlp_http_spans_sent, otlp_http_dropped_queue_full); empty for
  // exporters that cannot lose spans.
  virtual std::vector<std::pair<std::string, std::uint64_t>> counters() const { return {}; }
  // From any thread, for the agent's /metrics and /readyz: spans waiting to be sent, and why
  // the backend is failing now (empty while it is not).
  virtual std::size_t queued_spans() const { return 0; }
  virtual std::string failure() const { return {}; }
};

// "console", "console:tree", "otlp-json:PATH", "otlp-http:URL", "zipkin:URL".
// Throws FatalError(kUsage) on an unknown kind, a path it cannot open for
// writing or a URL that is not http(s)://HOST[:PORT][/PATH].
std::unique_ptr<Exporter> make_exporter(const std::string& spec);

}  // namespace difftrace::exporters
