#include "capture/go_probe_sites.h"

#include <initializer_list>

#include "capture/elf_file.h"

namespace difftrace::capture {
namespace {

Error no_sites(const std::string& path, const std::string& why) {
  return Error{"no Go uprobe sites in", path, 0, why};
}

bool starts_with(std::span<const std::uint8_t> code, std::size_t at,
                 std::initializer_list<std::uint8_t> bytes) {
  if (at + bytes.size() > code.size()) return false;
  std::size_t i = at;
  for (std::uint8_t b : bytes)
    if (code[i++] != b) return false;
  return true;
}

// Bytes read from each function's start for go_prologue_branch: the longest prologue it
// knows (lea with a 32-bit displacement, cmp, jbe rel32) is 18.
constexpr std::size_t kPrologueBytes = 18;

}  // namespace

std::uint32_t go_prologue_branch(std::span<const std::uint8_t> code) {
  std::size_t at = 0;
  if (starts_with(code, 0, {0x49, 0x3b, 0x66, 0x10})) {  // cmp rsp, [r14+0x10]
    at = 4;
  } else {
    if (starts_with(code, 0, {0x4c, 0x8d, 0x64, 0x24}))  // lea r12, [rsp+disp8]
      at = 5;
    else if (starts_with(code, 0, {0x4c, 0x8d, 0xa4, 0x24}))  // lea r12, [rsp+disp32]
      at = 8;
    else
      return 0;
    if (!starts_with(code, at, {0x4d, 0x3b, 0x66, 0x10})) return 0;  // cmp r12, [r14+0x10]
    at += 4;
  }
  // jbe rel8, or jbe rel32, whole
  if ((starts_with(code, at, {0x76}) && at + 2 <= code.size()) ||
      (starts_with(code, at, {0x0f, 0x86}) && at + 6 <= code.size()))
    return static_cast<std::uint32_t>(at);
  return 0;
}

Result<GoProbeSites> find_go_probe_sites(const std::string& path) {
  auto elf = ElfFile::open(path);
  if (!elf) return elf.error();
  if (elf->header().e_machine != EM_X86_64) return no_sites(path, "not an amd64 executable");
  GoProbeSites sites;
  bool tlsg = false;
  for (const auto& [name, sym] :
       elf->find_symbols({kGoRoundTripSymbol, kGoRequestWriteSymbol, "runtime.tlsg"})) {
    if (name == "runtime.tlsg" && ELF64_ST_TYPE(sym.st_info) == STT_TLS) {
      sites.g_tls_offset = static_cast<std::int64_t>(sym.st_value);
      tlsg = true;
      continue;
    }
    if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value) continue;
    auto off = elf->file_offset(sym.st_value);
    if (!off) continue;
    (name == kGoRoundTripSymbol ? sites.round_trip : sites.request_write) = *off;
  }
  if (!sites.round_trip || !sites.request_write)
    return no_sites(path, "no symbols " + std::string(kGoRoundTripSymbol) + " and " +
                              kGoRequestWriteSymbol + " (stripped, or no net/http client)");
  sites.round_trip_branch = go_prologue_branch(elf->read_bytes(sites.round_trip, kPrologueBytes));
  sites.request_write_branch =
      go_prologue_branch(elf->read_bytes(sites.request_write, kPrologueBytes));
  sites.round_trip += sites.round_trip_branch;
  sites.request_write += sites.request_write_branch;
  // Variant II TLS (x86-64): the executable's block ends at the thread pointer, so a
  // variable at offset v in it lives at fsbase - round_up(memsz, align) + v. Go's own
  // linker writes one 8-byte block for runtime.tlsg (g at fsbase - 8) and no symbol for it.
  for (const auto& p : elf->segments()) {
    if (p.p_type != PT_TLS) continue;
    const std::uint64_t align = p.p_align ? p.p_align : 1;
    const std::uint64_t size = (p.p_memsz + align - 1) / align * align;
    if (!tlsg && p.p_memsz != 8)
      return no_sites(path, "a TLS block of " + std::to_string(p.p_memsz) +
                                " bytes and no runtime.tlsg symbol: where g is is unknown");
    sites.g_tls_offset -= static_cast<std::int64_t>(size);
    return sites;
  }
  return no_sites(path, "no TLS segment (not a Go program on linux/amd64?)");
}

}  // namespace difftrace::capture
