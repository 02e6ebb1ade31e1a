#include "capture/elf_file.h"

#include <cstring>
#include <fstream>
#include <unordered_set>

namespace difftrace::capture {
namespace {

constexpr std::size_t kMaxHeaders = 4096;
constexpr std::uint64_t kMaxStringTable = 64u << 20;

bool read_at(std::ifstream& f, std::uint64_t off, void* into, std::size_t n) {
  f.seekg(static_cast<std::streamoff>(off));
  return static_cast<bool>(f.read(static_cast<char*>(into), static_cast<std::streamsize>(n)));
}

Error bad(const std::string& path, const std::string& why) {
  return Error{"cannot read ELF", path, 0, why};
}

}  // namespace

Result<ElfFile> ElfFile::open(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{"cannot open", path, errno, ""};
  ElfFile e;
  e.path_ = path;
  if (!read_at(f, 0, &e.eh_, sizeof e.eh_) || std::memcmp(e.eh_.e_ident, ELFMAG, SELFMAG) != 0)
    return bad(path, "not an ELF file");
  if (e.eh_.e_ident[EI_CLASS] != ELFCLASS64) return bad(path, "not a 64-bit ELF file");
  if (e.eh_.e_phnum > kMaxHeaders || e.eh_.e_shnum > kMaxHeaders ||
      (e.eh_.e_phnum && e.eh_.e_phentsize != sizeof(Elf64_Phdr)) ||
      (e.eh_.e_shnum && e.eh_.e_shentsize != sizeof(Elf64_Shdr)))
    return bad(path, "implausible header counts");
  e.ph_.resize(e.eh_.e_phnum);
  if (e.eh_.e_phnum &&
      !read_at(f, e.eh_.e_phoff, e.ph_.data(), e.ph_.size() * sizeof(Elf64_Phdr)))
    return bad(path, "program headers cut short");
  e.sh_.resize(e.eh_.e_shnum);
  if (e.eh_.e_shnum &&
      !read_at(f, e.eh_.e_shoff, e.sh_.data(), e.sh_.size() * sizeof(Elf64_Shdr)))
    return bad(path, "section headers cut short");
  if (e.eh_.e_shstrndx < e.sh_.size()) {
    const Elf64_Shdr& strtab = e.sh_[e.eh_.e_shstrndx];
    if (strtab.sh_size > kMaxStringTable) return bad(path, "section name table too large");
    std::string names(strtab.sh_size, '\0');
    if (!read_at(f, strtab.sh_offset, names.data(), names.size()))
      return bad(path, "section name table cut short");
    for (const auto& s : e.sh_)
      e.section_names_.emplace_back(s.sh_name < names.size() ? names.c_str() + s.sh_name : "");
  }
  return e;
}

bool ElfFile::has_section(const std::string& name) const {
  for (const auto& n : section_names_)
    if (n == name) return true;
  return false;
}

std::vector<std::pair<std::string, Elf64_Sym>> ElfFile::find_symbols(
    const std::vector<std::string>& names) const {
  std::vector<std::pair<std::string, Elf64_Sym>> found;
  const std::unordered_set<std::string> wanted(names.begin(), names.end());
  for (const auto& s : sh_) {
    if (s.sh_type != SHT_SYMTAB || s.sh_entsize != sizeof(Elf64_Sym) || s.sh_link >= sh_.size())
      continue;
    const Elf64_Shdr& strs = sh_[s.sh_link];
    if (strs.sh_size > kMaxStringTable || s.sh_size > kMaxStringTable) continue;
    std::ifstream f(path_, std::ios::binary);
    std::string text(strs.sh_size, '\0');
    std::vector<Elf64_Sym> syms(s.sh_size / sizeof(Elf64_Sym));
    if (!read_at(f, strs.sh_offset, text.data(), text.size()) ||
        !read_at(f, s.sh_offset, syms.data(), syms.size() * sizeof(Elf64_Sym)))
      continue;
    for (const auto& sym : syms) {
      if (sym.st_name >= text.size()) continue;
      std::string n(text.c_str() + sym.st_name);
      if (wanted.count(n)) found.emplace_back(std::move(n), sym);
    }
  }
  return found;
}

std::optional<std::uint64_t> ElfFile::file_offset(std::uint64_t vaddr) const {
  for (const auto& p : ph_)
    if (p.p_type == PT_LOAD && vaddr >= p.p_vaddr && vaddr < p.p_vaddr + p.p_filesz)
      return vaddr - p.p_vaddr + p.p_offset;
  return std::nullopt;
}

std::vector<std::uint8_t> ElfFile::read_bytes(std::uint64_t off, std::size_t n) const {
  std::vector<std::uint8_t> bytes(n);
  std::ifstream f(path_, std::ios::binary);
  if (!read_at(f, off, bytes.data(), n)) bytes.clear();
  return bytes;
}

}  // namespace difftrace::capture
