#include "check/require_features.h"

#include <string>

#include "check/platform_probe.h"
#include "check/requirements.h"
#include "error.h"

namespace difftrace::check {

void require_kernel_features() {
  const auto lines = refusal_lines(evaluate(probe_platform(ProbeScope::kQuick)));
  if (lines.empty()) return;
  std::string message;
  for (const auto& line : lines) message += (message.empty() ? "" : "\n") + line;
  throw FatalError(ExitCode::kEnvironment, message);
}

}  // namespace difftrace::check
