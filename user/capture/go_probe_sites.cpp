#include "capture/go_probe_sites.h"

#include "capture/elf_file.h"

namespace difftrace::capture {
namespace {

Error no_sites(const std::string& path, const std::string& why) {
  return Error{"no Go uprobe sites in", path, 0, why};
}

}  // namespace

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
