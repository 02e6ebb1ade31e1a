// Bench only: attaches bench/hook_floor.bpf.c's empty programs to raw sys_enter/sys_exit,
// creates READY_FILE once they are attached, and holds them until SIGINT or SIGTERM.
//   usage: hook-floor READY_FILE
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "hook_floor.skel.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hook-floor READY_FILE\n");
    return 2;
  }
  hook_floor* skel = hook_floor::open_and_load();
  if (!skel || hook_floor::attach(skel) != 0) {
    std::perror("hook-floor: loading or attaching the empty programs");
    hook_floor::destroy(skel);
    return 1;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  std::ofstream(argv[1]) << "attached\n";
  int sig = 0;
  sigwait(&set, &sig);
  hook_floor::destroy(skel);
  return 0;
}
