// `difftrace check` and `trace`'s refusal, from faked probe results: every line
// and the exit code must come from the requirement table, not from the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "check/check_report.h"
#include "check/requirements.h"

namespace difftrace::check {
namespace {

using R = RequirementId;

// A node that has everything, with every program loaded well inside its budget.
PlatformFacts everything_present() {
  PlatformFacts facts;
  facts.kernel_release = "6.1.0-test";
  for (const Requirement& r : requirement_table()) facts[r.id] = {Presence::kPresent, "ok"};
  return facts;
}

CheckReport report_of(const PlatformFacts& facts) {
  CheckReport report;
  report.kernel = facts.kernel_release;
  report.requirements = evaluate(facts);
  report.programs = {{"sys_enter", 20000, 100000, true, "", ""}, {"sys_exit", 30000, 100000, true, "", ""}};
  return report;
}

bool mentions(const std::string& line, std::string_view part) {
  return line.find(part) != std::string::npos;
}

// The one line about `id` among `lines`, checked to name the feature and, when
// the table has one, the minimum kernel.
void require_one_line_naming(const std::vector<std::string>& lines, R id) {
  const Requirement& r = requirement(id);
  const auto n = std::count_if(lines.begin(), lines.end(),
                               [&](const std::string& l) { return mentions(l, r.name); });
  INFO("requirement: " << r.name);
  REQUIRE(n == 1);
  const auto line = *std::find_if(lines.begin(), lines.end(),
                                  [&](const std::string& l) { return mentions(l, r.name); });
  INFO("line: " << line);
  if (!r.min_kernel.empty()) CHECK(mentions(line, "Linux " + std::string(r.min_kernel)));
  if (!r.remedy.empty()) CHECK(mentions(line, r.remedy));
}

}  // namespace

TEST_CASE("check: a node with everything passes with exit 0 and no problem lines", "[check]") {
  const CheckReport report = report_of(everything_present());
  CHECK(problem_lines(report).empty());
  CHECK(passed(report));
  CHECK(check_exit_code(report) == ExitCode::kOk);
  CHECK(to_json(report)["ok"] == true);
}

TEST_CASE("check: each missing required feature gives one line and a non-zero exit",
          "[check]") {
  const R id = GENERATE(R::kPrivileges, R::kBpfSyscall, R::kBtf, R::kTracefs,
                        R::kRawTracepointProgs, R::kTracepointProgs,
                        R::kRingbufMap, R::kTaskStorageMap, R::kRingbufOutput,
                        R::kRingbufQuery, R::kGetCurrentTaskBtf, R::kTaskStorageGet,
                        R::kProbeReadUser, R::kLoop);
  REQUIRE(requirement(id).required);
  PlatformFacts facts = everything_present();
  facts[id] = {Presence::kAbsent, "faked absent"};
  const CheckReport report = report_of(facts);
  const auto lines = problem_lines(report);
  CHECK(lines.size() == 1);
  require_one_line_naming(lines, id);
  CHECK(refusal_lines(report.requirements) == lines);  // what `trace` refuses with
  CHECK_FALSE(passed(report));
  CHECK(check_exit_code(report) != ExitCode::kOk);
}

TEST_CASE("check: the refusals the issue names, all at once", "[check]") {
  // Not root, no BTF, tracefs and bpffs missing and not mountable, bpf_loop
  // missing: as on a node with all of these wrong. Without privileges the BPF
  // features cannot be probed, so bpf_loop is faked on a root node.
  PlatformFacts facts = everything_present();
  facts[R::kPrivileges] = {Presence::kAbsent, "uid 1000 without CAP_BPF"};
  facts[R::kBtf] = {Presence::kAbsent, "no /sys/kernel/btf/vmlinux"};
  facts[R::kTracefs] = {Presence::kAbsent, "mounting failed: Permission denied"};
  facts[R::kTaskEvents] = {Presence::kUnknown, "not probed: no tracefs"};
  facts[R::kBpffs] = {Presence::kAbsent, "mounting failed: Permission denied"};
  facts[R::kLoop] = {Presence::kAbsent, "unknown to this kernel"};
  const CheckReport report = report_of(facts);
  const auto lines = problem_lines(report);

  for (R id : {R::kPrivileges, R::kBtf, R::kTracefs, R::kLoop}) require_one_line_naming(lines, id);
  CHECK(lines.size() == 4);  // bpffs and the task tracepoints are optional
  CHECK(check_exit_code(report) != ExitCode::kOk);

  const auto json = to_json(report);
  CHECK(json["ok"] == false);
  for (const auto& r : json["requirements"]) {
    if (r["name"] == requirement(R::kLoop).name) {
      CHECK(r["present"] == false);
      CHECK(r["required"] == true);
      CHECK(r["min_kernel"] == "5.17");
    }
    if (r["name"] == requirement(R::kBpffs).name) CHECK(r["required"] == false);
  }
}

TEST_CASE("check: optional hooks that are absent do not fail the check", "[check]") {
  PlatformFacts facts = everything_present();
  for (R id : {R::kKprobes, R::kFentry, R::kUprobes, R::kBpffs}) {
    REQUIRE_FALSE(requirement(id).required);
    facts[id] = {Presence::kAbsent, "faked absent"};
  }
  const CheckReport report = report_of(facts);
  CHECK(problem_lines(report).empty());
  CHECK(check_exit_code(report) == ExitCode::kOk);
}

TEST_CASE("check: unprobed features are not reported on their own", "[check]") {
  // Not root: the BPF probes cannot run; only the privileges line is printed,
  // and the check still fails.
  PlatformFacts facts = everything_present();
  facts[R::kPrivileges] = {Presence::kAbsent, "uid 65534"};
  for (R id : {R::kBpfSyscall, R::kRingbufMap, R::kLoop})
    facts[id] = {Presence::kUnknown, "not probed: needs privileges"};
  const CheckReport report = report_of(facts);
  const auto lines = problem_lines(report);
  REQUIRE(lines.size() == 1);
  require_one_line_naming(lines, R::kPrivileges);
  CHECK_FALSE(passed(report));
}

TEST_CASE("check: a refused program and one over budget each give a line", "[check]") {
  CheckReport report = report_of(everything_present());
  report.programs = {
      {"sys_enter", 20000, 100000, true, "", ""},
      {"sys_exit", 1000001, 100000, false, "BPF program is too large. Processed 1000001 insn", ""},
      {"on_newtask", 150000, 100000, true, "", ""},
  };
  const auto lines = problem_lines(report);
  REQUIRE(lines.size() == 2);
  CHECK(mentions(lines[0], "sys_exit"));
  CHECK(mentions(lines[0], "BPF program is too large"));
  CHECK(mentions(lines[1], "on_newtask"));
  CHECK(mentions(lines[1], "100000"));
  CHECK(check_exit_code(report) != ExitCode::kOk);

  const auto json = to_json(report);
  CHECK(json["programs"][1]["loaded"] == false);
  CHECK(json["programs"][1]["limit"] == 1000000);
  CHECK(json["programs"][0]["error"].is_null());
}

TEST_CASE("check: the requirement table is well formed", "[check]") {
  std::size_t i = 0;
  for (const Requirement& r : requirement_table()) {
    INFO(r.name);
    CHECK(static_cast<std::size_t>(r.id) == i++);
    CHECK_FALSE(r.name.empty());
  }
  CHECK(requirement(R::kLoop).min_kernel == "5.17");
  CHECK(requirement(R::kRingbufMap).min_kernel == "5.8");
}


TEST_CASE("check: the hook source and each probe's fate are in the table and the JSON", "[check]") {
  CheckReport report = report_of(everything_present());
  report.source = "syscalls";
  report.probes = {
      {"sys_exit", "syscalls", "raw_tracepoint/sys_exit", bpf::ProbeStatus::State::kAttached, ""},
      {"on_newtask", "process", "tracepoint/task/task_newtask",
       bpf::ProbeStatus::State::kLeftOut, "this kernel has no tracepoint"},
  };
  const std::string table = format_table(report);
  CHECK(table.find("hook source: syscalls") != std::string::npos);
  CHECK(table.find("left out: this kernel has no tracepoint") != std::string::npos);
  const auto json = to_json(report);
  CHECK(json["hooks"]["source"] == "syscalls");
  REQUIRE(json["hooks"]["probes"].size() == 2);
  CHECK(json["hooks"]["probes"][0]["state"] == "attached");
  CHECK(json["hooks"]["probes"][1]["state"] == "left out");

  // Attaching failed: a problem, and the check fails.
  report.probes_error = "attaching sys_exit: Operation not permitted";
  CHECK(check_exit_code(report) != ExitCode::kOk);
  const auto lines = problem_lines(report);
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
          return l.find("hooks: attaching sys_exit") != std::string::npos;
        }) == 1);
}

}  // namespace difftrace::check
