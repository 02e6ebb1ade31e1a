#include "check/requirements.h"

namespace difftrace::check {

namespace {

using R = RequirementId;

// Minimum kernels are the mainline releases that first had each feature (the
// commits are named in README's "difftrace check" section). Task storage came
// in 5.11 for LSM programs only; tracing programs may use it from 5.13.
constexpr std::array<Requirement, static_cast<std::size_t>(R::kCount)> kTable = {{
    {R::kPrivileges, "privileges", true, "",
     "run difftrace as root, or grant it CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE"},
    {R::kBpfSyscall, "bpf() syscall", true, "",
     "BPF is refused here: allow bpf() (no seccomp or container sandbox that blocks "
     "it, no kernel lockdown)"},
    {R::kBtf, "kernel BTF (/sys/kernel/btf/vmlinux)", true, "5.4",
     "a kernel built with CONFIG_DEBUG_INFO_BTF=y"},
    {R::kTracefs, "tracefs", true, "", "mount -t tracefs nodev /sys/kernel/tracing"},
    // Capture reads syscalls from raw tracepoints, which need no trace events; the two
    // task tracepoints follow the processes --pid targets fork.
    {R::kTaskEvents, "task tracepoints (tracefs events task_newtask, sched_process_exit)",
     false, "", "without them the processes that --pid targets fork are not traced"},
    {R::kBpffs, "bpffs (/sys/fs/bpf)", false, "",
     "mount -t bpf bpf /sys/fs/bpf (difftrace itself pins nothing)"},
    {R::kRawTracepointProgs, "raw tracepoint programs", true, "4.17", ""},
    {R::kTracepointProgs, "tracepoint programs", true, "4.7", ""},
    {R::kRingbufMap, "ring buffer map (BPF_MAP_TYPE_RINGBUF)", true, "5.8", ""},
    {R::kTaskStorageMap, "task storage map (BPF_MAP_TYPE_TASK_STORAGE)", true, "5.11", ""},
    {R::kRingbufOutput, "bpf_ringbuf_output helper", true, "5.8", ""},
    {R::kRingbufQuery, "bpf_ringbuf_query helper", true, "5.8", ""},
    {R::kGetCurrentTaskBtf, "bpf_get_current_task_btf helper", true, "5.11", ""},
    {R::kTaskStorageGet, "bpf_task_storage_get helper in tracing programs", true, "5.13", ""},
    {R::kProbeReadUser, "bpf_probe_read_user helper", true, "5.5", ""},
    {R::kLoop, "bpf_loop helper", true, "5.17", ""},
    {R::kKprobes, "kprobes", false, "4.1", "a kernel built with CONFIG_KPROBES=y"},
    {R::kFentry, "fentry (BPF trampolines)", false, "5.5",
     "an architecture and kernel with BPF trampolines"},
    {R::kUprobes, "uprobes", false, "4.3", "a kernel built with CONFIG_UPROBE_EVENTS=y"},
}};

constexpr bool table_in_id_order() {
  for (std::size_t i = 0; i < kTable.size(); i++)
    if (static_cast<std::size_t>(kTable[i].id) != i) return false;
  return true;
}
static_assert(table_in_id_order(), "requirement(id) indexes the table by id");

std::string refusal_line(const RequirementVerdict& v) {
  const Requirement& r = *v.requirement;
  std::string line = std::string(r.name) + ": missing";
  if (!v.detail.empty()) line += " (" + v.detail + ")";
  if (!r.min_kernel.empty()) line += ", needs Linux " + std::string(r.min_kernel) + " or later";
  if (!r.remedy.empty()) line += ": " + std::string(r.remedy);
  return line;
}

}  // namespace

const std::array<Requirement, static_cast<std::size_t>(RequirementId::kCount)>&
requirement_table() {
  return kTable;
}

const Requirement& requirement(RequirementId id) { return kTable[static_cast<std::size_t>(id)]; }

std::vector<RequirementVerdict> evaluate(const PlatformFacts& facts) {
  std::vector<RequirementVerdict> verdicts;
  for (const Requirement& r : kTable) {
    const Fact& f = facts[r.id];
    std::string detail = f.detail;
    if (f.presence == Presence::kUnknown && detail.empty()) detail = "not probed";
    verdicts.push_back({&r, f.presence, std::move(detail)});
  }
  return verdicts;
}

std::vector<std::string> refusal_lines(const std::vector<RequirementVerdict>& verdicts) {
  std::vector<std::string> lines;
  for (const auto& v : verdicts)
    if (v.requirement->required && v.presence == Presence::kAbsent)
      lines.push_back(refusal_line(v));
  return lines;
}

bool all_required_present(const std::vector<RequirementVerdict>& verdicts) {
  for (const auto& v : verdicts)
    if (v.requirement->required && !v.present()) return false;
  return true;
}

}  // namespace difftrace::check
