#include "bpf/source_selection.h"

namespace difftrace::bpf {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Why src cannot run here ("" when it can): the first of its programs whose hook is missing.
std::string why_not(const HookSource& src, const std::map<std::string, std::string>& sections,
                    const KernelHooks& kernel) {
  for (const auto& name : src.programs) {
    auto it = sections.find(name);
    if (it == sections.end()) return "its program " + name + " is not in the object";
    if (std::string why = missing_hook(it->second, kernel); !why.empty()) return why;
  }
  return "";
}

}  // namespace

std::string missing_hook(const std::string& section, const KernelHooks& kernel) {
  for (const char* prefix : {"fentry/", "fexit/"}) {
    if (!starts_with(section, prefix)) continue;
    const std::string function = section.substr(std::string(prefix).size());
    if (!kernel.trampolines)
      return "this kernel has no BPF trampolines for fentry/fexit (" +
             kernel.trampolines_detail + ")";
    if (!kernel.has_function || !kernel.has_function(function))
      return "this kernel's BTF has no function " + function;
    return "";
  }
  if (starts_with(section, "uprobe"))
    return kernel.uprobes ? "" : "this kernel has no uprobes (no /sys/bus/event_source/devices/uprobe)";
  if (starts_with(section, "tracepoint/")) {
    const std::string tp = section.substr(std::string("tracepoint/").size());
    if (!kernel.has_tracepoint || !kernel.has_tracepoint(tp))
      return "this kernel has no tracepoint " + tp;
  }
  return "";  // raw tracepoints: a requirement `trace` checks before it loads
}

SourceChoice choose_hook_source(HookSourceMode mode,
                                const std::map<std::string, std::string>& sections,
                                const KernelHooks& kernel) {
  SourceChoice choice;
  std::string passed_over;  // the preferred sources this kernel cannot run, and why
  for (const auto& src : hook_sources()) {
    const bool named = mode != HookSourceMode::kAuto && src.name == to_string(mode);
    if (mode != HookSourceMode::kAuto && !named) continue;
    const std::string why = why_not(src, sections, kernel);
    if (!why.empty()) {
      if (named) {
        choice.reason = "--hook-source " + src.name + ": this kernel cannot run it: " + why;
        return choice;
      }
      passed_over += (passed_over.empty() ? "" : "; ") + src.name + " cannot run: " + why;
      continue;
    }
    choice.source = src.name;
    if (named)
      choice.reason = "chosen by --hook-source " + src.name;
    else if (passed_over.empty())
      choice.reason = "the first choice: this kernel has every hook it needs";
    else
      choice.reason = passed_over;
    for (const auto& name : src.optional_programs) {
      auto it = sections.find(name);
      std::string missing = it == sections.end() ? "not in the object"
                                                 : missing_hook(it->second, kernel);
      if (!missing.empty()) choice.optional_missing[name] = missing;
    }
    return choice;
  }
  choice.reason = "this kernel runs none of difftrace's hook sources (" + passed_over + ")";
  return choice;
}

}  // namespace difftrace::bpf
