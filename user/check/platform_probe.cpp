#include "check/platform_probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "check/attach_probes.h"
#include "env/environment.h"
#include "error.h"

namespace difftrace::check {
namespace fs = std::filesystem;
using R = RequirementId;

namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kDebugTracing = "/sys/kernel/debug/tracing";
constexpr const char* kBpffs = "/sys/fs/bpf";

// Without privileges /sys/kernel/tracing is unreadable: that reads as absent.
bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

Fact present(std::string detail) { return {Presence::kPresent, std::move(detail)}; }
Fact absent(std::string detail) { return {Presence::kAbsent, std::move(detail)}; }

std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "unknown";
}

Fact privileges() {
  if (geteuid() == 0) return present("root");
  if (env::holds_bpf_privileges()) return present("CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE");
  return absent("uid " + std::to_string(geteuid()) +
                " without CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE");
}

// libbpf's feature probes read a refused bpf() as "feature absent" (or, for
// helpers, as present): one plain map creation first tells the two apart.
Fact bpf_syscall() {
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dt_check", 4, 4, 1, nullptr);
  if (fd >= 0) {
    close(fd);
    return present("usable");
  }
  const int err = errno;
  if (err == EPERM)
    return absent("creating a BPF map: Operation not permitted");
  return absent(errno_message("creating a BPF map", err));
}

Fact from_libbpf(int result, const char* unsupported) {
  if (result == 1) return present("supported");
  if (result == 0) return absent(unsupported);
  return absent(errno_message("probing", result));
}

Fact prog_type(bpf_prog_type type) {
  return from_libbpf(libbpf_probe_bpf_prog_type(type, nullptr), "program type unknown to this kernel");
}

Fact map_type(bpf_map_type type) {
  return from_libbpf(libbpf_probe_bpf_map_type(type, nullptr), "map type unknown to this kernel");
}

// Asked for raw tracepoint programs: the capture programs' type.
Fact helper(bpf_func_id id) {
  return from_libbpf(libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, id, nullptr),
                     "unknown to this kernel for raw tracepoint programs");
}

bool fs_mounted_at(const char* path, long magic) {
  struct statfs s {};
  return statfs(path, &s) == 0 && static_cast<long>(s.f_type) == magic;
}

// Mounts fstype at path to learn whether it can be, then unmounts it: check
// reports, and leaves the node as it found it.
Fact mountable(const char* fstype, const char* path) {
  if (mount("nodev", path, fstype, 0, nullptr) != 0)
    return absent(errno_message(std::string("not mounted at ") + path + " and mounting failed",
                                errno));
  umount2(path, MNT_DETACH);
  return present(std::string("not mounted, mountable at ") + path);
}

// The tracepoints of the programs that follow --pid targets' children.
Fact task_events(const std::string& dir) {
  for (const char* ev : {"/events/task/task_newtask", "/events/sched/sched_process_exit"})
    if (!exists(dir + ev)) return absent("no " + dir + ev);
  return present("present");
}

// Like env::ensure_tracefs: tracefs itself, or the tracing directory of debugfs
// (which libbpf reads first); without either, whether it could be mounted.
void probe_tracefs(PlatformFacts& facts, bool may_mount) {
  for (const char* dir : {kTracefs, kDebugTracing}) {
    if (!exists(std::string(dir) + "/events")) continue;
    facts[R::kTracefs] = present(std::string("mounted at ") + dir);
    facts[R::kTaskEvents] = task_events(dir);
    return;
  }
  if (!may_mount) {
    facts[R::kTracefs] = {Presence::kUnknown, "not found; reading or mounting it needs privileges"};
    facts[R::kTaskEvents] = {Presence::kUnknown, "not probed: no tracefs"};
    return;
  }
  if (mount("nodev", kTracefs, "tracefs", 0, nullptr) != 0) {
    facts[R::kTracefs] = absent(errno_message(
        std::string("not mounted at ") + kTracefs + " and mounting failed", errno));
    facts[R::kTaskEvents] = {Presence::kUnknown, "not probed: no tracefs"};
    return;
  }
  facts[R::kTaskEvents] = task_events(kTracefs);
  umount2(kTracefs, MNT_DETACH);
  facts[R::kTracefs] = present(std::string("not mounted, mountable at ") + kTracefs);
}

void probe_bpffs(PlatformFacts& facts, bool may_mount) {
  if (fs_mounted_at(kBpffs, BPF_FS_MAGIC))
    facts[R::kBpffs] = present(std::string("mounted at ") + kBpffs);
  else if (!may_mount)
    facts[R::kBpffs] = {Presence::kUnknown, "not found; reading or mounting it needs privileges"};
  else
    facts[R::kBpffs] = mountable("bpf", kBpffs);
}

void probe_bpf_features(PlatformFacts& facts) {
  facts[R::kRawTracepointProgs] = prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT);
  facts[R::kTracepointProgs] = prog_type(BPF_PROG_TYPE_TRACEPOINT);
  facts[R::kRingbufMap] = map_type(BPF_MAP_TYPE_RINGBUF);
  facts[R::kTaskStorageMap] = map_type(BPF_MAP_TYPE_TASK_STORAGE);
  facts[R::kRingbufOutput] = helper(BPF_FUNC_ringbuf_output);
  facts[R::kRingbufQuery] = helper(BPF_FUNC_ringbuf_query);
  facts[R::kGetCurrentTaskBtf] = helper(BPF_FUNC_get_current_task_btf);
  facts[R::kTaskStorageGet] = helper(BPF_FUNC_task_storage_get);
  facts[R::kProbeReadUser] = helper(BPF_FUNC_probe_read_user);
  facts[R::kLoop] = helper(BPF_FUNC_loop);
}

void leave_unknown(PlatformFacts& facts, std::initializer_list<R> ids, const std::string& why) {
  for (R id : ids) facts[id] = {Presence::kUnknown, "not probed: " + why};
}

}  // namespace

PlatformFacts probe_platform(ProbeScope scope) {
  PlatformFacts facts;
  facts.kernel_release = kernel_release();
  facts[R::kBtf] = exists("/sys/kernel/btf/vmlinux") ? present("present")
                                                          : absent("no /sys/kernel/btf/vmlinux");
  facts[R::kPrivileges] = privileges();
  const std::initializer_list<R> bpf_ids = {
      R::kRawTracepointProgs, R::kTracepointProgs, R::kRingbufMap, R::kTaskStorageMap,
      R::kRingbufOutput,      R::kRingbufQuery,    R::kGetCurrentTaskBtf, R::kTaskStorageGet,
      R::kProbeReadUser,      R::kLoop,            R::kKprobes,     R::kFentry, R::kUprobes};
  const bool privileged = facts[R::kPrivileges].presence == Presence::kPresent;
  if (!privileged) {
    leave_unknown(facts, {R::kBpfSyscall}, "needs privileges");
    leave_unknown(facts, bpf_ids, "needs privileges");
  } else {
    facts[R::kBpfSyscall] = bpf_syscall();
    if (facts[R::kBpfSyscall].presence != Presence::kPresent)
      leave_unknown(facts, bpf_ids, "bpf() is not usable");
    else
      probe_bpf_features(facts);
  }
  if (scope == ProbeScope::kQuick) return facts;

  probe_tracefs(facts, privileged);
  probe_bpffs(facts, privileged);
  if (facts[R::kBpfSyscall].presence == Presence::kPresent) {
    facts[R::kKprobes] = probe_kprobe_attach();
    facts[R::kFentry] = probe_fentry_attach();
    facts[R::kUprobes] = probe_uprobe_attach();
  }
  return facts;
}

}  // namespace difftrace::check
