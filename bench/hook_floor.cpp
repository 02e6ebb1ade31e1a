// Bench only: attaches bench/hook_floor.bpf.c's empty programs to raw sys_enter/sys_exit and,
// for each Go executable given, an empty uprobe at each of the sites where difftrace puts its
// Go probes (user/capture/go_probe_sites.h, the same choice of instruction), for every process
// running it. Creates READY_FILE once all are attached, and holds them until SIGINT or SIGTERM.
//   usage: hook-floor READY_FILE [GO_EXECUTABLE...]
// A Go executable without the sites is an error, not a floor without them.
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "capture/go_probe_sites.h"
#include "hook_floor.skel.h"

namespace {

// Attaches the empty uprobe at path's two probe sites; false (and why, on stderr) on failure.
bool attach_go_sites(hook_floor* skel, const char* path, std::vector<bpf_link*>& links) {
  auto sites = difftrace::capture::find_go_probe_sites(path);
  if (!sites) {
    std::fprintf(stderr, "hook-floor: %s\n", sites.error().message().c_str());
    return false;
  }
  for (std::uint64_t offset : {sites->round_trip, sites->request_write}) {
    bpf_link* l = bpf_program__attach_uprobe(skel->progs.floor_uprobe, false, -1, path, offset);
    if (!l) {
      std::perror("hook-floor: attaching a uprobe");
      return false;
    }
    links.push_back(l);
  }
  std::fprintf(stderr, "hook-floor: %s: uprobes at +0x%llx (branch +%u), +0x%llx (branch +%u)\n",
               path, static_cast<unsigned long long>(sites->round_trip), sites->round_trip_branch,
               static_cast<unsigned long long>(sites->request_write),
               sites->request_write_branch);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hook-floor READY_FILE [GO_EXECUTABLE...]\n");
    return 2;
  }
  hook_floor* skel = hook_floor::open_and_load();
  if (!skel || hook_floor::attach(skel) != 0) {
    std::perror("hook-floor: loading or attaching the empty programs");
    hook_floor::destroy(skel);
    return 1;
  }
  std::vector<bpf_link*> links;
  bool ok = true;
  for (int i = 2; i < argc && ok; ++i) ok = attach_go_sites(skel, argv[i], links);
  if (ok) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    std::ofstream(argv[1]) << "attached\n";
    int sig = 0;
    sigwait(&set, &sig);
  }
  for (bpf_link* l : links) bpf_link__destroy(l);
  hook_floor::destroy(skel);
  return ok ? 0 : 1;
}
