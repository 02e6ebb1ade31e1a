#include "bpf/program_quiescence.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "error.h"

namespace difftrace::bpf {
namespace {

[[noreturn]] void fail(const char* what) {
  throw FatalError(ExitCode::kEnvironment,
                   std::string(what) + " (to wait for running BPF programs): " +
                       std::strerror(errno));
}

}  // namespace

ProgramQuiescence::ProgramQuiescence() {
  inner_ = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dt_quiesce_in", 4, 4, 1, nullptr);
  if (inner_ < 0) fail("bpf_map_create(array)");
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner_));
  outer_ = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "dt_quiesce", 4, 4, 1, &opts);
  if (outer_ < 0) {
    close(inner_);
    fail("bpf_map_create(array of maps)");
  }
}

ProgramQuiescence::~ProgramQuiescence() {
  close(outer_);
  close(inner_);
}

void ProgramQuiescence::wait() const {
  const __u32 key = 0;
  const __u32 value = static_cast<__u32>(inner_);
  if (bpf_map_update_elem(outer_, &key, &value, BPF_ANY)) fail("bpf_map_update_elem(array of maps)");
}

}  // namespace difftrace::bpf
