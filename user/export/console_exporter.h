// Human-readable spans on stdout, one line each.
#pragma once

#include <cstdio>

#include "export/exporter.h"

namespace difftrace::exporters {

class ConsoleExporter : public Exporter {
 public:
  explicit ConsoleExporter(std::FILE* out = stdout) : out_(out) {}
  void export_spans(const std::vector<capture::Span>& spans) override;
  void flush() override { std::fflush(out_); }
  std::uint64_t spans_exported() const override { return exported_; }

  static std::string format(const capture::Span& s);

 private:
  std::FILE* out_;
  std::uint64_t exported_ = 0;
};

}  // namespace difftrace::exporters
