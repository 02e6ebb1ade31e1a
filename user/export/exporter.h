// Where spans go. Each --export SPEC makes one exporter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual void export_spans(const std::vector<capture::Span>& spans) = 0;
  virtual void flush() {}
  virtual std::uint64_t spans_exported() const = 0;
};

// "console", "otlp-json:PATH". Throws FatalError(kUsage) on an unknown kind
// or a path it cannot open for writing.
std::unique_ptr<Exporter> make_exporter(const std::string& spec);

}  // namespace difftrace::exporters
