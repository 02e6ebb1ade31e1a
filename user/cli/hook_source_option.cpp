#include "cli/hook_source_option.h"

#include <CLI/CLI.hpp>

namespace difftrace::cli {

void add_hook_source_option(CLI::App& cmd, bpf::HookSourceMode& mode) {
  cmd.add_option_function<std::string>(
         "--hook-source",
         [&mode](const std::string& text) { mode = *bpf::parse_hook_source_mode(text); },
         "How I/O is seen: sockets (fentry on the TCP socket layer: other syscalls pay "
         "nothing), syscalls (raw syscall tracepoints), or auto (sockets where the kernel has "
         "BPF trampolines; `difftrace check` says which)")
      ->check(CLI::IsMember({"auto", "syscalls", "sockets"}))
      ->default_str("auto");
}

}  // namespace difftrace::cli
