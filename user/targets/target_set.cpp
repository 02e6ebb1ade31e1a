#include "targets/target_set.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "error.h"

namespace difftrace::targets {
namespace fs = std::filesystem;

std::string cgroup2_root() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs st {};
    if (statfs(p, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) return p;
  }
  return "";
}

namespace {

// Parent pid of pid from /proc/PID/stat ("pid (comm) state ppid ..."; comm
// may hold spaces and parentheses, so parse after the last ')').
pid_t parent_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  char state = 0;
  int ppid = 0;
  if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

// Processes already forked by a target (nginx workers, say) are targets too;
// the kernel adds the ones forked from now on.
void add_descendants(std::vector<pid_t>& pids) {
  std::vector<std::pair<pid_t, pid_t>> all;  // (pid, ppid)
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    all.emplace_back(pid, parent_of(pid));
  }
  for (std::size_t i = 0; i < pids.size(); i++)
    for (const auto& [pid, ppid] : all)
      if (ppid == pids[i] && std::find(pids.begin(), pids.end(), pid) == pids.end())
        pids.push_back(pid);
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
  if (!t.pids.empty()) add_descendants(t.pids);
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
