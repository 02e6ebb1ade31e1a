// Which hook source (bpf/hook_sources.h) the capture program runs on this kernel, and why:
// the first, in order of preference, whose every hook the kernel has, or the one
// --hook-source names. The choice is a pure function of what the kernel offers
// (KernelHooks), so its rules are unit tested; bpf/kernel_hooks.h asks the running kernel.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "bpf/hook_sources.h"

namespace difftrace::bpf {

// What this kernel offers the sources' hooks.
struct KernelHooks {
  bool trampolines = false;        // fentry/fexit programs load and attach
  std::string trampolines_detail;  // how that was found, or why they do not
  std::function<bool(const std::string& function)> has_function;      // in the kernel's BTF
  std::function<bool(const std::string& tracepoint)> has_tracepoint;  // "task/task_newtask"
  bool uprobes = false;  // the uprobe event source (Go programs' probes)
};

// Why this kernel cannot run a program in section (libbpf's SEC name), or "" when it can.
std::string missing_hook(const std::string& section, const KernelHooks& kernel);

struct SourceChoice {
  std::string source;  // the source picked; empty: none can run (reason says why)
  std::string reason;  // one line: why this source, for check and the logs
  // Programs of the picked source's optional hooks that this kernel lacks: why each.
  std::map<std::string, std::string> optional_missing;
};

// sections: every program of the capture object -> its section.
SourceChoice choose_hook_source(HookSourceMode mode,
                                const std::map<std::string, std::string>& sections,
                                const KernelHooks& kernel);

}  // namespace difftrace::bpf
