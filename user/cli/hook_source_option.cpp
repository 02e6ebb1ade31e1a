#include "cli/hook_source_option.h"

#include <CLI/CLI.hpp>

namespace difftrace::cli {

void add_hook_source_option(CLI::App& cmd, bpf::HookSourceMode& mode) {
  const std::map<std::string, bpf::HookSourceMode> modes = {
      {"auto", bpf::HookSourceMode::kAuto},
      {"syscalls", bpf::HookSourceMode::kSyscalls},
      {"sockets", bpf::HookSourceMode::kSockets}};
  cmd.add_option("--hook-source", mode,
                 "How I/O is seen: sockets (fentry on the TCP socket layer: other syscalls pay "
                 "nothing), syscalls (raw syscall tracepoints), or auto (sockets where the "
                 "kernel has BPF trampolines; `difftrace check` says which)")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case))
      ->default_str("auto");
}

}  // namespace difftrace::cli
