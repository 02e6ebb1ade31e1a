#include "capture/go_process.h"

#include "capture/elf_file.h"

namespace difftrace::capture {

bool is_go_executable(const std::string& path) {
  auto elf = ElfFile::open(path);
  return elf && (elf->has_section(".go.buildinfo") || elf->has_section(".gopclntab") ||
                 elf->has_section(".note.go.buildid"));
}

bool GoProcesses::is_go(std::uint32_t pid) {
  auto it = known_.find(pid);
  if (it != known_.end()) return it->second;
  if (known_.size() >= kMaxKnown) known_.clear();  // bounded; looked up again
  const bool go = is_go_executable("/proc/" + std::to_string(pid) + "/exe");
  known_.emplace(pid, go);
  if (go && found_) found_(pid);
  return go;
}

}  // namespace difftrace::capture
