// What `difftrace check` found on a node, and the pure steps from it to what is
// printed (a table, or one JSON object) and to the exit code. No probing here.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "bpf/hook_sources.h"
#include "bpf/program_verification.h"
#include "check/requirements.h"
#include "error.h"

namespace difftrace::check {

struct CheckReport {
  std::string kernel;
  std::vector<RequirementVerdict> requirements;
  std::vector<bpf::ProgramVerification> programs;
  std::string programs_skipped;  // why no program was loaded; empty when they were
  // The capture program attached as trace attaches it (nothing targeted) and detached: the
  // hook source the loader picked and each program's fate. Empty source: not tried.
  std::string source;
  std::string source_reason;  // why this kernel gets that source (bpf::SourceChoice::reason)
  std::vector<bpf::ProbeStatus> probes;
  std::string probes_error;  // why attaching failed, if it did
};

// One line per missing required feature, per refused program and per program
// over its verifier budget.
std::vector<std::string> problem_lines(const CheckReport& report);
bool passed(const CheckReport& report);
ExitCode check_exit_code(const CheckReport& report);

std::string format_table(const CheckReport& report);
// {kernel, requirements: [{name, required, present, min_kernel, detail}],
//  programs: [{name, verified_insns, limit, budget, loaded, error}],
//  hooks: {source, reason, error, probes: [{program, source, hook, state, detail}]}, ok, problems}
nlohmann::json to_json(const CheckReport& report);

}  // namespace difftrace::check
