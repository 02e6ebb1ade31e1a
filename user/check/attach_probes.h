// Whether the optional hooks work on this kernel, found the only sure way: a
// trivial program (return 0) loaded and attached to a kprobe, an fentry and a
// uprobe, then detached at once. A kernel can know the program type and still
// lack the hook (CONFIG_KPROBES off, no BPF trampolines on the architecture).
#pragma once

#include "check/requirements.h"

namespace difftrace::check {

Fact probe_kprobe_attach();
Fact probe_fentry_attach();
Fact probe_uprobe_attach();

}  // namespace difftrace::check
