#include "check/check_report.h"

#include <fmt/format.h>

#include "bpf/verifier_budget.h"

namespace difftrace::check {
namespace {

std::string status(const RequirementVerdict& v) {
  if (v.present()) return "present";
  if (v.presence == Presence::kUnknown) return "unknown";
  return v.requirement->required ? "MISSING" : "absent (optional)";
}

std::string or_dash(std::string_view s) { return s.empty() ? "-" : std::string(s); }

double share_of_limit(std::uint32_t insns) {
  return 100.0 * insns / static_cast<double>(bpf::kVerifierInsnLimit);
}

// A program whose hook this kernel lacks is not loaded here, and that is no problem: the
// loader picks another source (or leaves an optional hook out).
bool refused(const bpf::ProgramVerification& p) { return !p.loaded && p.not_here.empty(); }

bool over_budget(const bpf::ProgramVerification& p) {
  return p.loaded && p.verified_insns > p.budget;
}

}  // namespace

std::vector<std::string> problem_lines(const CheckReport& report) {
  std::vector<std::string> lines = refusal_lines(report.requirements);
  for (const auto& p : report.programs) {
    if (refused(p))
      lines.push_back(fmt::format("program {}: refused by the kernel: {}", p.name, p.error));
    else if (over_budget(p))
      lines.push_back(fmt::format(
          "program {}: {} verified instructions, over its budget of {} "
          "(user/bpf/verifier_budget.h)",
          p.name, p.verified_insns, p.budget));
  }
  if (!report.probes_error.empty()) lines.push_back("hooks: " + report.probes_error);
  return lines;
}

bool passed(const CheckReport& report) {
  if (!all_required_present(report.requirements) || report.programs.empty()) return false;
  for (const auto& p : report.programs)
    if (refused(p) || over_budget(p)) return false;
  return report.probes_error.empty();
}

ExitCode check_exit_code(const CheckReport& report) {
  return passed(report) ? ExitCode::kOk : ExitCode::kEnvironment;
}

std::string format_table(const CheckReport& report) {
  std::string out = fmt::format("difftrace check: kernel {}\n\n", report.kernel);
  out += fmt::format("{:<50} {:<18} {:<8} {}\n", "requirement", "status", "since", "detail");
  for (const auto& v : report.requirements)
    out += fmt::format("{:<50} {:<18} {:<8} {}\n", v.requirement->name, status(v),
                       or_dash(v.requirement->min_kernel), v.detail);
  out += "\n";
  if (report.programs.empty()) {
    out += fmt::format("capture programs not loaded: {}\n", report.programs_skipped);
    return out;
  }
  out += fmt::format("{:<20} {:>14} {:>9} {:>9}  {}\n", "program", "verified insns",
                     "of limit", "budget", "result");
  for (const auto& p : report.programs) {
    std::string result = p.loaded ? (over_budget(p) ? "loaded, OVER BUDGET" : "loaded")
                         : refused(p) ? "REFUSED: " + p.error
                                      : "not loaded: " + p.not_here;
    out += fmt::format("{:<20} {:>14} {:>8.1f}% {:>9}  {}\n", p.name,
                       p.verified_insns ? std::to_string(p.verified_insns) : "-",
                       share_of_limit(p.verified_insns), p.budget, result);
  }
  out += fmt::format("(limit: {} instructions per program; budgets: user/bpf/verifier_budget.h)\n",
                     bpf::kVerifierInsnLimit);
  if (!report.probes_error.empty()) {
    out += fmt::format("\nhooks not attached: {}\n", report.probes_error);
  } else if (!report.source.empty()) {
    out += fmt::format("\nhook source: {} (attached, then detached): {}\n", report.source,
                       report.source_reason);
    out += fmt::format("{:<20} {:<10} {:<36} {}\n", "program", "source", "hook", "result");
    for (const auto& p : report.probes)
      out += fmt::format("{:<20} {:<10} {:<36} {}{}\n", p.program, p.source, p.hook,
                         bpf::to_string(p.state), p.detail.empty() ? "" : ": " + p.detail);
  }
  return out;
}

nlohmann::json to_json(const CheckReport& report) {
  nlohmann::json requirements = nlohmann::json::array();
  for (const auto& v : report.requirements) {
    const Requirement& r = *v.requirement;
    requirements.push_back({{"name", r.name},
                            {"required", r.required},
                            {"present", v.present()},
                            {"min_kernel", r.min_kernel.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(r.min_kernel)},
                            {"detail", v.detail}});
  }
  nlohmann::json programs = nlohmann::json::array();
  for (const auto& p : report.programs)
    programs.push_back({{"name", p.name},
                        {"verified_insns", p.verified_insns},
                        {"limit", bpf::kVerifierInsnLimit},
                        {"budget", p.budget},
                        {"loaded", p.loaded},
                        {"error", p.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.error)},
                        {"not_here", p.not_here.empty() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(p.not_here)}});
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& p : report.probes)
    probes.push_back({{"program", p.program},
                      {"source", p.source},
                      {"hook", p.hook},
                      {"state", bpf::to_string(p.state)},
                      {"detail", p.detail}});
  nlohmann::json hooks = {
      {"source", report.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.source)},
      {"reason", report.source_reason},
      {"error", report.probes_error.empty() ? nlohmann::json(nullptr)
                                            : nlohmann::json(report.probes_error)},
      {"probes", probes}};
  return {{"kernel", report.kernel},
          {"requirements", requirements},
          {"programs", programs},
          {"hooks", hooks},
          {"ok", passed(report)},
          {"problems", problem_lines(report)}};
}

}  // namespace difftrace::check
