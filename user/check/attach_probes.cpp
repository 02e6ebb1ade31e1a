#include "check/attach_probes.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bpf/kernel_hooks.h"
#include "error.h"

namespace difftrace::check {
namespace {

// A common kernel function, present in every release difftrace could run on.
constexpr const char* kKernelFunction = "vfs_read";
constexpr int kEnotsupp = 524;  // the kernel's ENOTSUPP, which strerror does not know

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Fact absent(const std::string& what, int err) {
  if (err < 0) err = -err;
  if (err == kEnotsupp) return {Presence::kAbsent, what + ": not supported by this kernel"};
  return {Presence::kAbsent, errno_message(what, err)};
}

Fact present(const std::string& how) { return {Presence::kPresent, how}; }

// r0 = 0; exit
int load_return_zero(bpf_prog_type type, const bpf_prog_load_opts* opts, const char* name) {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(type, name, "GPL", insns, 2, opts);
}

// The perf PMU type of "kprobe" or "uprobe" (from Linux 4.17), or -1.
int pmu_type(const char* pmu) {
  std::ifstream f(std::string("/sys/bus/event_source/devices/") + pmu + "/type");
  int type = -1;
  f >> type;
  return f ? type : -1;
}

// Opens a kprobe or uprobe perf event and attaches prog_fd to it.
Fact attach_perf_probe(const char* pmu, const char* target, std::uint64_t offset,
                       const std::string& what) {
  const int type = pmu_type(pmu);
  if (type < 0) return {Presence::kAbsent, std::string("no ") + pmu + " PMU in /sys/bus/event_source"};
  Fd prog(load_return_zero(BPF_PROG_TYPE_KPROBE, nullptr, "dt_check_probe"));
  if (prog.get() < 0) return absent("loading a kprobe program", errno);
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = static_cast<__u32>(type);
  attr.config1 = reinterpret_cast<std::uint64_t>(target);  // kprobe_func / uprobe_path
  attr.config2 = offset;                                    // probe_offset
  Fd event(static_cast<int>(syscall(SYS_perf_event_open, &attr, pid_t{-1}, 0, -1,
                                    PERF_FLAG_FD_CLOEXEC)));
  if (event.get() < 0) return absent("opening a " + what, errno);
  if (ioctl(event.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) != 0)
    return absent("attaching to a " + what, errno);
  return present("loaded and attached to a " + what);
}

// A function of this binary the uprobe can be placed on.
__attribute__((noinline)) int uprobe_target() { return 0; }

// The file offset of uprobe_target in the file it was mapped from.
bool own_function_offset(std::string& path, std::uint64_t& offset) {
  const auto addr = reinterpret_cast<std::uint64_t>(&uprobe_target);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0, file_offset = 0;
    char perms[5] = {};
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %4s %llx %*s %*s %n", &start, &end, perms,
                    &file_offset, &name_at) < 4)
      continue;
    if (addr < start || addr >= end || perms[2] != 'x' || name_at == 0) continue;
    path = line.substr(static_cast<std::size_t>(name_at));
    offset = addr - start + file_offset;
    return !path.empty() && path[0] == '/';
  }
  return false;
}

}  // namespace

Fact probe_kprobe_attach() {
  return attach_perf_probe("kprobe", kKernelFunction, 0,
                           std::string("kprobe on ") + kKernelFunction);
}

Fact probe_uprobe_attach() {
  std::string path;
  std::uint64_t offset = 0;
  if (!own_function_offset(path, offset))
    return {Presence::kUnknown, "not probed: no executable mapping of difftrace found"};
  return attach_perf_probe("uprobe", path.c_str(), offset, "uprobe on difftrace itself");
}

Fact probe_fentry_attach() {
  const bpf::TrampolineProbe t = bpf::probe_trampolines();
  if (!t.probed) return {Presence::kUnknown, t.detail};
  return {t.present ? Presence::kPresent : Presence::kAbsent, t.detail};
}

}  // namespace difftrace::check
