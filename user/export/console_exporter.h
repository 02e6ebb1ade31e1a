// Human-readable spans on stdout: "console" prints one line per span,
// "console:tree" each batch as indented trees, one per trace (console_tree.h).
#pragma once

#include <cstdio>

#include "export/exporter.h"

namespace difftrace::exporters {

class ConsoleExporter : public Exporter {
 public:
  enum class Mode { kLines, kTree };
  explicit ConsoleExporter(std::FILE* out = stdout, Mode mode = Mode::kLines)
      : out_(out), mode_(mode) {}
  void export_spans(const std::vector<capture::Span>& spans) override;
  void flush() override { std::fflush(out_); }
  void sync() override { std::fflush(out_); }
  std::uint64_t spans_exported() const override { return exported_; }

  static std::string format(const capture::Span& s);

 private:
  std::FILE* out_;
  Mode mode_;
  std::uint64_t exported_ = 0;
};

}  // namespace difftrace::exporters
