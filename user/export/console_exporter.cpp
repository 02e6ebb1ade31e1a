#include "export/console_exporter.h"

#include <fmt/format.h>

#include "capture/request_target.h"
#include "export/console_tree.h"

namespace difftrace::exporters {

std::string ConsoleExporter::format(const capture::Span& s) {
  std::string status = s.status ? std::to_string(s.status) : "no-response";
  return fmt::format("{:<6} {}[{}] {} {} -> {} {:.3f}ms {}:{} -> {}:{} trace={}{}",
                     s.kind == capture::SpanKind::kServer ? "SERVER" : "CLIENT",
                     s.service_name, s.pid, s.method, capture::target_text(s), status,
                     static_cast<double>(s.duration_ns()) / 1e6, s.client().address,
                     s.client().port, s.server().address, s.server().port,
                     capture::to_hex(s.trace_id), s.trace_from_header ? " (from header)" : "");
}

void ConsoleExporter::export_spans(const std::vector<capture::Span>& spans) {
  if (mode_ == Mode::kTree) {
    const std::string trees = render_trace_trees(spans);
    std::fwrite(trees.data(), 1, trees.size(), out_);
  } else {
    for (const auto& s : spans) std::fprintf(out_, "%s\n", format(s).c_str());
  }
  exported_ += spans.size();
  std::fflush(out_);
}

}  // namespace difftrace::exporters
