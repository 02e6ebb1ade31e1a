// Which processes the kernel traces: resolved from --pid/--comm/--cgroup/--all.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace difftrace::targets {

struct TargetSet {
  std::vector<pid_t> pids;
  std::vector<std::string> comms;        // kernel comm, at most 15 chars
  std::vector<std::uint64_t> cgroup_ids;  // cgroup v2 ids (inode numbers)
  bool all = false;
  // Targets a reloaded config may change (the agent): every kind is on in the loaded program
  // even while its list is empty, since the verifier prunes by what is on at load.
  bool changeable = false;

  bool empty() const { return !all && pids.empty() && comms.empty() && cgroup_ids.empty(); }
};

// Checks and resolves the user's selection; throws FatalError(kUsage) on a
// pid that does not exist, a comm too long, a path that is no cgroup v2 dir.
TargetSet resolve(const std::vector<pid_t>& pids, const std::vector<std::string>& comms,
                  const std::vector<std::string>& cgroup_paths, bool all);

// The cgroup v2 hierarchy's mount: /sys/fs/cgroup on unified systems,
// /sys/fs/cgroup/unified on hybrid ones; "" when none is mounted.
std::string cgroup2_root();

// The cgroup v2 id of a directory (absolute, or relative to the v2 mount).
std::uint64_t cgroup_id_of(const std::string& path);

}  // namespace difftrace::targets
