#include "cli/check_command.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "bpf/capture_program.h"
#include "bpf/program_verification.h"
#include "env/environment.h"
#include "error.h"
#include "check/check_report.h"
#include "check/platform_probe.h"

namespace difftrace::cli {
namespace {

using check::Presence;
using check::RequirementId;

// Loading the programs needs what loading needs; without it the table would
// only repeat the missing requirement once per program.
std::string why_programs_cannot_load(const check::PlatformFacts& facts) {
  for (RequirementId id : {RequirementId::kPrivileges, RequirementId::kBpfSyscall,
                           RequirementId::kBtf})
    if (facts[id].presence != Presence::kPresent)
      return std::string(check::requirement(id).name) + " missing";
  return "";
}

// Attaches the capture program as trace would, with nothing targeted (no process pays more
// than the hooks' entry), and reports what each program became; detaches at once.
void attach_and_report(check::CheckReport& report) {
  try {
    env::ensure_tracefs();
    bpf::CaptureProgram program(targets::TargetSet{});
    program.attach();
    report.source = program.source();
    report.source_reason = program.source_reason();
    report.probes = program.probes();  // then the destructor detaches
  } catch (const FatalError& e) {
    report.probes_error = e.what();
  }
}

}  // namespace

void add_check_command(CLI::App& app, CheckOptions& opts) {
  auto* cmd = app.add_subcommand(
      "check", "Check this node before deploying: kernel features, tracefs, bpffs, privileges, "
               "and each BPF program's verification cost");
  cmd->add_flag("--json", opts.json, "Print the report as one JSON object");
}

int run_check(const CheckOptions& opts) {
  const check::PlatformFacts facts = check::probe_platform(check::ProbeScope::kFull);
  check::CheckReport report;
  report.kernel = facts.kernel_release;
  report.requirements = check::evaluate(facts);
  report.programs_skipped = why_programs_cannot_load(facts);
  if (report.programs_skipped.empty()) {
    report.programs = bpf::verify_capture_programs();
    attach_and_report(report);
  }

  if (opts.json)
    std::printf("%s\n", check::to_json(report).dump(2).c_str());
  else
    std::fputs(check::format_table(report).c_str(), stdout);
  std::fflush(stdout);
  for (const auto& line : check::problem_lines(report)) spdlog::error("{}", line);
  return static_cast<int>(check::check_exit_code(report));
}

}  // namespace difftrace::cli
