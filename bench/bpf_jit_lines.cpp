// bpf-jit-lines PROG_ID...: for each loaded BPF program, where each source line's JIT code
// starts, as "function+0xOFFSET file:line source", the form perf prints a sample's BPF frame
// in (bpf_prog_<tag>_<function>+0xOFFSET). scripts/bench/bpf_call_sites.py maps perf samples to
// source lines with it. bpftool's `dump jited` would say the same, but Debian's is built without
// libbfd. Needs root (the programs' info) and the programs' BTF (line info).
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct ProgLines {
  std::vector<bpf_line_info> lines;
  std::vector<std::uint64_t> jited_lines;  // each line's JIT address
  std::vector<std::uint64_t> func_addrs;   // each function's JIT address (its ksym)
  std::vector<bpf_func_info> funcs;        // each function's BTF type
  std::uint32_t btf_id = 0;
};

bool read_lines(int fd, ProgLines& out) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return false;
  if (info.line_info_rec_size != sizeof(bpf_line_info) ||
      info.jited_line_info_rec_size != sizeof(std::uint64_t) ||
      info.func_info_rec_size != sizeof(bpf_func_info)) {
    errno = EPROTO;
    return false;
  }
  out.lines.resize(info.nr_line_info);
  out.jited_lines.resize(info.nr_jited_line_info);
  out.func_addrs.resize(info.nr_jited_ksyms);
  out.funcs.resize(info.nr_func_info);
  out.btf_id = info.btf_id;
  bpf_prog_info again{};
  again.nr_line_info = info.nr_line_info;
  again.line_info_rec_size = info.line_info_rec_size;
  again.line_info = reinterpret_cast<std::uint64_t>(out.lines.data());
  again.nr_jited_line_info = info.nr_jited_line_info;
  again.jited_line_info_rec_size = info.jited_line_info_rec_size;
  again.jited_line_info = reinterpret_cast<std::uint64_t>(out.jited_lines.data());
  again.nr_jited_ksyms = info.nr_jited_ksyms;
  again.jited_ksyms = reinterpret_cast<std::uint64_t>(out.func_addrs.data());
  again.nr_func_info = info.nr_func_info;
  again.func_info_rec_size = info.func_info_rec_size;
  again.func_info = reinterpret_cast<std::uint64_t>(out.funcs.data());
  len = sizeof again;
  return bpf_obj_get_info_by_fd(fd, &again, &len) == 0;
}

// The function a JIT address is in: the one with the greatest start at or below it.
int function_of(const ProgLines& p, std::uint64_t addr) {
  int best = -1;
  for (std::size_t j = 0; j < p.func_addrs.size(); j++)
    if (p.func_addrs[j] <= addr && (best < 0 || p.func_addrs[j] > p.func_addrs[best]))
      best = static_cast<int>(j);
  return best;
}

bool print_lines(std::uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return false;
  ProgLines p;
  bool ok = read_lines(fd, p);
  close(fd);
  if (!ok) return false;
  btf* b = btf__load_from_kernel_by_id(p.btf_id);
  if (!b) return false;
  for (std::size_t i = 0; i < p.lines.size() && i < p.jited_lines.size(); i++) {
    int f = function_of(p, p.jited_lines[i]);
    if (f < 0 || static_cast<std::size_t>(f) >= p.funcs.size()) continue;
    const btf_type* t = btf__type_by_id(b, p.funcs[f].type_id);
    const char* fname = t ? btf__name_by_offset(b, t->name_off) : nullptr;
    const char* file = btf__name_by_offset(b, p.lines[i].file_name_off);
    const char* src = btf__name_by_offset(b, p.lines[i].line_off);
    const char* base = file ? std::strrchr(file, '/') : nullptr;
    std::printf("%s+0x%llx %s:%u %s\n", fname ? fname : "?",
                static_cast<unsigned long long>(p.jited_lines[i] - p.func_addrs[f]),
                base ? base + 1 : (file ? file : "?"), BPF_LINE_INFO_LINE_NUM(p.lines[i].line_col),
                src ? src : "");
  }
  btf__free(b);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bpf-jit-lines PROG_ID...\n");
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    char* end = nullptr;
    unsigned long id = std::strtoul(argv[i], &end, 10);
    if (!*argv[i] || *end || !print_lines(static_cast<std::uint32_t>(id))) {
      std::fprintf(stderr, "bpf-jit-lines: program %s: %s\n", argv[i], std::strerror(errno));
      rc = 1;
    }
  }
  return rc;
}
