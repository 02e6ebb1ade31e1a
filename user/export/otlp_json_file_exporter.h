// otlp-json:PATH: one OTLP ExportTraceServiceRequest JSON per line.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "export/exporter.h"

namespace difftrace::exporters {

class OtlpJsonFileExporter : public Exporter {
 public:
  // Opens (truncates) path now so a bad path fails before tracing starts.
  explicit OtlpJsonFileExporter(const std::string& path);
  ~OtlpJsonFileExporter() override;
  OtlpJsonFileExporter(const OtlpJsonFileExporter&) = delete;
  OtlpJsonFileExporter& operator=(const OtlpJsonFileExporter&) = delete;

  void export_spans(const std::vector<capture::Span>& spans) override;
  void flush() override;
  void sync() override { flush(); }
  std::uint64_t spans_exported() const override { return exported_; }

 private:
  std::string path_;
  std::string host_name_;
  std::FILE* file_ = nullptr;
  fmt::memory_buffer buffer_;  // reused across batches
  std::uint64_t exported_ = 0;
};

}  // namespace difftrace::exporters
