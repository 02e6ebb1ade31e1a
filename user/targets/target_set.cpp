#include "targets/target_set.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "error.h"

namespace difftrace::targets {
namespace fs = std::filesystem;

namespace {

// The cgroup v2 hierarchy: /sys/fs/cgroup on unified systems,
// /sys/fs/cgroup/unified on hybrid ones.
std::string cgroup2_root() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs st {};
    if (statfs(p, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) return p;
  }
  return "";
}

}  // namespace

std::uint64_t cgroup_id_of(const std::string& path) {
  std::string full = path;
  if (!path.empty() && path[0] != '/') {
    std::string root = cgroup2_root();
    if (root.empty())
      throw FatalError(ExitCode::kEnvironment, "no cgroup v2 hierarchy is mounted");
    full = root + "/" + path;
  }
  struct statfs sfs {};
  if (statfs(full.c_str(), &sfs) != 0)
    throw FatalError(ExitCode::kUsage, errno_message("--cgroup " + full, errno));
  if (sfs.f_type != CGROUP2_SUPER_MAGIC)
    throw FatalError(ExitCode::kUsage,
                     "--cgroup " + full + ": not a cgroup v2 directory (BPF sees v2 ids only)");
  struct stat st {};
  if (stat(full.c_str(), &st) != 0)
    throw FatalError(ExitCode::kUsage, errno_message("--cgroup " + full, errno));
  return st.st_ino;
}

TargetSet resolve(const std::vector<pid_t>& pids, const std::vector<std::string>& comms,
                  const std::vector<std::string>& cgroup_paths, bool all) {
  TargetSet t;
  t.all = all;
  for (pid_t pid : pids) {
    if (pid <= 0 || !fs::exists("/proc/" + std::to_string(pid)))
      throw FatalError(ExitCode::kUsage, "--pid " + std::to_string(pid) + ": no such process");
    t.pids.push_back(pid);
  }
  for (const auto& c : comms) {
    if (c.empty() || c.size() > 15)
      throw FatalError(ExitCode::kUsage,
                       "--comm '" + c + "': a kernel comm has 1 to 15 characters");
    t.comms.push_back(c);
  }
  for (const auto& p : cgroup_paths) t.cgroup_ids.push_back(cgroup_id_of(p));
  if (t.empty())
    throw FatalError(ExitCode::kUsage,
                     "nothing to trace: give --pid, --comm, --cgroup or --all");
  return t;
}

}  // namespace difftrace::targets
