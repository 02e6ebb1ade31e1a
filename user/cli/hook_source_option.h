// --hook-source auto|syscalls|sockets, shared by trace and the agent: which hook source
// (bpf/hook_sources.h) the capture program runs; auto lets the kernel decide.
#pragma once

#include "bpf/hook_sources.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

void add_hook_source_option(CLI::App& cmd, bpf::HookSourceMode& mode);

}  // namespace difftrace::cli
