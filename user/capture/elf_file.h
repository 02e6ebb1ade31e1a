// A 64-bit ELF file's headers and symbol table, read with plain reads (no libelf state to
// own): enough to tell a Go program and to find where a function's code is in the file.
#pragma once

#include <elf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace difftrace::capture {

class ElfFile {
 public:
  // The headers of the ELF file at path (64-bit only); an Error says what is wrong.
  static Result<ElfFile> open(const std::string& path);

  const Elf64_Ehdr& header() const { return eh_; }
  const std::vector<Elf64_Phdr>& segments() const { return ph_; }
  // Has a section of this name (".gopclntab").
  bool has_section(const std::string& name) const;
  // The symbols of .symtab with these names (the others are not kept): name -> symbol.
  std::vector<std::pair<std::string, Elf64_Sym>> find_symbols(
      const std::vector<std::string>& names) const;
  // The file offset of virtual address vaddr (in a PT_LOAD segment), for uprobes.
  std::optional<std::uint64_t> file_offset(std::uint64_t vaddr) const;
  // n bytes of the file from offset off; empty when the file ends before them.
  std::vector<std::uint8_t> read_bytes(std::uint64_t off, std::size_t n) const;

 private:
  std::string path_;
  Elf64_Ehdr eh_{};
  std::vector<Elf64_Phdr> ph_;
  std::vector<Elf64_Shdr> sh_;
  std::vector<std::string> section_names_;
};

}  // namespace difftrace::capture
