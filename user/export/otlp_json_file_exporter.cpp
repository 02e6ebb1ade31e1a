#include "export/otlp_json_file_exporter.h"

#include <cerrno>

#include "error.h"
#include "export/otlp_json.h"
#include "export/resource.h"

namespace difftrace::exporters {

OtlpJsonFileExporter::OtlpJsonFileExporter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw FatalError(ExitCode::kUsage, errno_message("--export otlp-json:" + path, errno));
  host_name_ = local_host_name();
}

OtlpJsonFileExporter::~OtlpJsonFileExporter() {
  if (file_) std::fclose(file_);
}

void OtlpJsonFileExporter::export_spans(const std::vector<capture::Span>& spans) {
  if (spans.empty()) return;
  buffer_.clear();
  append_otlp_request(buffer_, spans, host_name_);
  buffer_.push_back('\n');
  std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
  exported_ += spans.size();
}

void OtlpJsonFileExporter::flush() { std::fflush(file_); }

}  // namespace difftrace::exporters
