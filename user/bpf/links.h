// Owning handles for libbpf objects: destroying the handle detaches or frees.
#pragma once

#include <bpf/libbpf.h>

#include <memory>

namespace difftrace::bpf {

struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

struct RingBufferDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};
using RingBufferPtr = std::unique_ptr<ring_buffer, RingBufferDeleter>;

}  // namespace difftrace::bpf
