#include "bpf/kernel_hooks.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "bpf/program_verification.h"
#include "error.h"

namespace difftrace::bpf {
namespace {

// A common kernel function, present in every release difftrace could run on.
constexpr const char* kKernelFunction = "vfs_read";
constexpr int kEnotsupp = 524;  // the kernel's ENOTSUPP, which strerror does not know

std::string failed(const std::string& what, int err) {
  if (err < 0) err = -err;
  if (err == kEnotsupp) return what + ": not supported by this kernel";
  return errno_message(what, err);
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

}  // namespace

TrampolineProbe probe_trampolines() {
  std::unique_ptr<btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
  if (!vmlinux) return {false, "no kernel BTF to find the function in", false};
  const int id = btf__find_by_name_kind(vmlinux.get(), kKernelFunction, BTF_KIND_FUNC);
  if (id <= 0) return {false, std::string("not probed: no ") + kKernelFunction + " in BTF", false};
  // r0 = 0; exit. The verifier says why a kernel without trampolines refuses the load.
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char log[4096] = {};
  bpf_prog_load_opts opts{};
  opts.sz = sizeof opts;
  opts.expected_attach_type = BPF_TRACE_FENTRY;
  opts.attach_btf_id = static_cast<__u32>(id);
  opts.log_buf = log;
  opts.log_size = sizeof log;
  opts.log_level = 1;
  const int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "dt_check_fentry", "GPL", insns, 2, &opts);
  if (prog < 0) {
    std::string detail = failed(std::string("loading fentry on ") + kKernelFunction, errno);
    const std::string reason = verifier_reason(log);
    if (!reason.empty()) detail += " (" + reason + ")";
    return {false, detail};
  }
  const int link = bpf_raw_tracepoint_open(nullptr, prog);
  const int err = errno;
  close(prog);
  if (link < 0) return {false, failed(std::string("attaching fentry on ") + kKernelFunction, err)};
  close(link);
  return {true, std::string("loaded and attached fentry on ") + kKernelFunction};
}

bool tracepoint_exists(const std::string& event) {
  std::error_code ec;
  for (const char* root : {"/sys/kernel/debug/tracing/events/", "/sys/kernel/tracing/events/"})
    if (std::filesystem::exists(std::string(root) + event, ec)) return true;
  return false;
}

namespace {

// The functions asked about, answered from the kernel's BTF. The parsed BTF is ~5.5 MiB of
// heap: it is kept only until release_kernel_btf() (once the capture program has picked its
// source), not for the tracer's whole run; a function asked about later parses it again.
class KernelFunctions {
 public:
  bool has(const std::string& fn) {
    std::lock_guard lock(mu_);
    if (auto it = known_.find(fn); it != known_.end()) return it->second;
    if (!vmlinux_) vmlinux_.reset(btf__load_vmlinux_btf());
    const bool yes =
        vmlinux_ && btf__find_by_name_kind(vmlinux_.get(), fn.c_str(), BTF_KIND_FUNC) > 0;
    known_.emplace(fn, yes);
    return yes;
  }
  void release() {
    std::lock_guard lock(mu_);
    vmlinux_.reset();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<btf, BtfDeleter> vmlinux_;
  std::map<std::string, bool> known_;
};

KernelFunctions& kernel_functions() {
  static KernelFunctions functions;
  return functions;
}

}  // namespace

void release_kernel_btf() { kernel_functions().release(); }

const KernelHooks& probe_kernel_hooks() {
  static const KernelHooks hooks = [] {
    KernelHooks k;
    const TrampolineProbe t = probe_trampolines();
    k.trampolines = t.present;
    k.trampolines_detail = t.detail;
    k.has_function = [](const std::string& fn) { return kernel_functions().has(fn); };
    k.has_tracepoint = tracepoint_exists;
    k.uprobes = access("/sys/bus/event_source/devices/uprobe/type", F_OK) == 0;
    return k;
  }();
  return hooks;
}

}  // namespace difftrace::bpf
