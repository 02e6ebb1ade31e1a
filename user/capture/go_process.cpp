#include "capture/go_process.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

namespace difftrace::capture {

bool is_go_executable(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!f.read(reinterpret_cast<char*>(&eh), sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shnum > 4096 ||
      eh.e_shstrndx >= eh.e_shnum)
    return false;
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  f.seekg(static_cast<std::streamoff>(eh.e_shoff));
  if (!f.read(reinterpret_cast<char*>(sh.data()),
              static_cast<std::streamsize>(sh.size() * sizeof(Elf64_Shdr))))
    return false;
  const Elf64_Shdr& strtab = sh[eh.e_shstrndx];
  if (strtab.sh_size > (1u << 20)) return false;
  std::string names(strtab.sh_size, '\0');
  f.seekg(static_cast<std::streamoff>(strtab.sh_offset));
  if (!f.read(names.data(), static_cast<std::streamsize>(names.size()))) return false;
  for (const auto& s : sh) {
    if (s.sh_name >= names.size()) continue;
    const char* n = names.c_str() + s.sh_name;
    if (!std::strcmp(n, ".go.buildinfo") || !std::strcmp(n, ".gopclntab") ||
        !std::strcmp(n, ".note.go.buildid"))
      return true;
  }
  return false;
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
