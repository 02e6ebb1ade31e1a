#include "env/environment.h"

#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <string>

#include "error.h"

namespace difftrace::env {
namespace fs = std::filesystem;

namespace {

bool has_capability(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, args);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (level == LIBBPF_WARN)
    spdlog::debug("libbpf: {}", line);
  else
    spdlog::trace("libbpf: {}", line);
  return 0;
}

}  // namespace

bool holds_bpf_privileges() {
  if (geteuid() == 0) return true;
  return has_capability(CAP_BPF) && has_capability(CAP_PERFMON) &&
         has_capability(CAP_SYS_RESOURCE);
}

void ensure_tracefs() {
  // libbpf reads tracepoint ids from debugfs' tracing dir when it exists,
  // else from tracefs: either one with events/ will do. Syscalls come from raw
  // tracepoints, which need no trace events (no CONFIG_FTRACE_SYSCALLS); the
  // task tracepoints are looked up per program (CaptureProgram).
  if (fs::exists("/sys/kernel/debug/tracing/events") || fs::exists("/sys/kernel/tracing/events"))
    return;
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
    throw FatalError(ExitCode::kEnvironment,
                     errno_message("tracefs not mounted at /sys/kernel/tracing and "
                                   "mounting it failed (mount -t tracefs nodev "
                                   "/sys/kernel/tracing)",
                                   errno));
  spdlog::info("mounted tracefs at /sys/kernel/tracing");
}

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

}  // namespace difftrace::env
