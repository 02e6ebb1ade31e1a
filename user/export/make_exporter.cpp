#include <memory>

#include "error.h"
#include "export/console_exporter.h"
#include "export/exporter.h"
#include "export/otlp_json_file_exporter.h"

namespace difftrace::exporters {

std::unique_ptr<Exporter> make_exporter(const std::string& spec) {
  if (spec == "console") return std::make_unique<ConsoleExporter>();
  const std::string otlp_json = "otlp-json:";
  if (spec.rfind(otlp_json, 0) == 0) {
    std::string path = spec.substr(otlp_json.size());
    if (path.empty()) throw FatalError(ExitCode::kUsage, "--export otlp-json: needs a path");
    return std::make_unique<OtlpJsonFileExporter>(path);
  }
  throw FatalError(ExitCode::kUsage, "--export " + spec +
                                         ": unknown exporter (known: console, otlp-json:PATH)");
}

}  // namespace difftrace::exporters
