// Where difftrace's Go uprobes go in one Go executable (bpf/lib/go_causality.bpf.h): the
// file offsets of net/http's (*persistConn).roundTrip and (*Request).write, found in its
// symbol table, and where its threads keep the running goroutine (the g) relative to their
// TLS base. amd64 only: there Go >= 1.17 passes arguments in registers and keeps g in R14,
// which the probes read (an older Go is caught by the kernel's check of R14 against TLS).
#pragma once

#include <cstdint>
#include <string>

#include "result.h"

namespace difftrace::capture {

struct GoProbeSites {
  std::uint64_t round_trip = 0;     // file offset of net/http.(*persistConn).roundTrip
  std::uint64_t request_write = 0;  // ... of net/http.(*Request).write
  std::int64_t g_tls_offset = 0;    // g's address: the thread's fsbase plus this
};

// Symbol names of the probed functions, as Go's linker writes them.
inline constexpr const char* kGoRoundTripSymbol = "net/http.(*persistConn).roundTrip";
inline constexpr const char* kGoRequestWriteSymbol = "net/http.(*Request).write";

// An Error says why the file offers no sites: not amd64, stripped, no net/http client in it,
// a TLS layout it cannot tell.
Result<GoProbeSites> find_go_probe_sites(const std::string& path);

}  // namespace difftrace::capture
