// Where difftrace's Go uprobes go in one Go executable (bpf/lib/go_causality.bpf.h): the
// file offsets of net/http's (*persistConn).roundTrip and (*Request).write, found in its
// symbol table, and where its threads keep the running goroutine (the g) relative to their
// TLS base. amd64 only: there Go >= 1.17 passes arguments in registers and keeps g in R14,
// which the probes read (an older Go is caught by the kernel's check of R14 against TLS).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "result.h"

namespace difftrace::capture {

struct GoProbeSites {
  // File offsets of the probes in net/http.(*persistConn).roundTrip and
  // net/http.(*Request).write: each function's entry plus its prologue's branch offset below.
  std::uint64_t round_trip = 0;
  std::uint64_t request_write = 0;
  std::uint32_t round_trip_branch = 0;  // that offset (0: the entry itself)
  std::uint32_t request_write_branch = 0;
  std::int64_t g_tls_offset = 0;  // g's address: the thread's fsbase plus this
};

// Where in a Go function's prologue an entry probe costs one trap instead of two. A uprobe
// on most instructions traps (int3), then runs the instruction out of line and traps again
// (single-step); a conditional jump the kernel emulates (arch/x86/kernel/uprobes.c, every
// kernel we support), so a probe on one traps once. Go's amd64 prologue begins with its stack
// check, `[lea r12, [rsp-N];] cmp {rsp|r12}, [r14+16]; jbe morestack`: at that jbe nothing
// the probes read has changed (the arguments in AX and BX, g in R14), and it runs exactly as
// often as the entry (a stack growth restarts the function, through its entry again).
// Returns the jbe's offset in code (the function's first bytes), or 0 when the prologue is
// not one of these (a frame too large for them, another compiler): then the entry is probed.
std::uint32_t go_prologue_branch(std::span<const std::uint8_t> code);

// Symbol names of the probed functions, as Go's linker writes them.
inline constexpr const char* kGoRoundTripSymbol = "net/http.(*persistConn).roundTrip";
inline constexpr const char* kGoRequestWriteSymbol = "net/http.(*Request).write";

// An Error says why the file offers no sites: not amd64, stripped, no net/http client in it,
// a TLS layout it cannot tell.
Result<GoProbeSites> find_go_probe_sites(const std::string& path);

}  // namespace difftrace::capture
