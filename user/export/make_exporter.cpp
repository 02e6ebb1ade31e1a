#include <memory>

#include "error.h"
#include "export/console_exporter.h"
#include "export/exporter.h"
#include "export/http_exporter.h"
#include "export/otlp_json_file_exporter.h"
#include "export/otlp_proto.h"
#include "export/resource.h"
#include "export/zipkin_json.h"

namespace difftrace::exporters {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::unique_ptr<Exporter> make_exporter(const std::string& spec) {
  if (spec == "console") return std::make_unique<ConsoleExporter>();
  if (spec == "console:tree")
    return std::make_unique<ConsoleExporter>(stdout, ConsoleExporter::Mode::kTree);
  const std::string otlp_json = "otlp-json:";
  if (starts_with(spec, otlp_json)) {
    std::string path = spec.substr(otlp_json.size());
    if (path.empty()) throw FatalError(ExitCode::kUsage, "--export otlp-json: needs a path");
    return std::make_unique<OtlpJsonFileExporter>(path);
  }
  const std::string otlp_http = "otlp-http:";
  if (starts_with(spec, otlp_http)) {
    std::string url = check_http_url("otlp-http", spec.substr(otlp_http.size()), "/v1/traces");
    return std::make_unique<HttpExporter>(url, otlp_http_encoding(local_host_name()));
  }
  const std::string zipkin = "zipkin:";
  if (starts_with(spec, zipkin)) {
    std::string url = check_http_url("zipkin", spec.substr(zipkin.size()), "/api/v2/spans");
    return std::make_unique<HttpExporter>(url, zipkin_encoding(local_host_name()));
  }
  throw FatalError(ExitCode::kUsage,
                   "--export " + spec +
                       ": unknown exporter (known: console, console:tree, otlp-json:PATH, "
                       "otlp-http:URL, zipkin:URL)");
}

}  // namespace difftrace::exporters
