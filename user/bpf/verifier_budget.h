// How many instructions the verifier may process for each capture program
// (bpf_prog_info.verified_insns), written here and nowhere else: `difftrace check`
// shows these budgets and the [bpf] budget test fails a program over its own.
// The kernel refuses a program at 1,000,000; a budget a tenth of that leaves room
// for the next kernel's verifier to cost more than this one's. Tighten an entry
// to the measured count plus a margin, so that a costlier change is seen in review.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace difftrace::bpf {

inline constexpr std::uint32_t kVerifierInsnLimit = 1'000'000;
inline constexpr std::uint32_t kDefaultVerifierBudget = 100'000;

struct VerifierBudget {
  std::string_view program;  // the program's function name in bpf/capture.bpf.c
  std::uint32_t max_verified_insns;
  // A kernel may refuse it and difftrace still runs without what it adds (CaptureProgram
  // loads the others): HTTP/2's followers (docs/http2.md).
  bool optional = false;
};

// Programs not listed get kDefaultVerifierBudget. The [bpf] budget test fails an
// entry that names no program, so a rename cannot leave a budget behind.
// Each budget is the costliest count measured (targets by pid, comm and cgroup on),
// on the costliest kernel of the matrix, plus about a fifth (docs/kernels.md has
// the counts per kernel): 6.18.44 sys_exit 63,215, sys_enter 19,752, on_process_exit
// 18,870 (trace ids for header-less requests, issue 16, added 1,076 / 517 / 517; the cached
// target verdict, issue 13, about 450 to sys_enter). sys_exit went from 69,000 to 75,000
// with in-process causality (issue 16:
// bpf/lib/causality.bpf.h, +3,743 on 6.18.44, most of it the request line's hash loop
// and R3's walk over recent requests), to keep its fifth of margin.
// HTTP/2 (issue 17): its follower is a program of its own reached by tail call (h2_io from
// sys_exit, sk_h2_* from the socket hooks: the same body), 58,321 / 52,304 / 19,342 on
// 6.18.44 / 6.12 / 6.1, so that the exit hooks grew only by the hand-over, the inference and
// the order check: sys_exit 69,688 on 6.18.44 (before the Go merge), sk_recvmsg_exit 70,962
// on 6.12. Those went to 84,000-85,000 and sys_enter (comm targets by process name, 20,831)
// to 25,000, sk_close_enter (18,010 on 6.12) to 22,000, to keep their fifth of margin;
// h2_io's came down from 75,000 to 70,000. Reading a request's traceparent (raw, or
// Huffman-coded: a bpf_loop over its 55 symbols) in the HPACK shadow's field step took h2_io
// from 61,536 to 76,907 on 6.18.44, inlined in h2_on_fragment; the shadow's walk as a global
// function of its own (h2_shadow_walk, verified once, also for header blocks gathered across
// I/Os) brought it to 54,702.
inline constexpr std::array kVerifierBudgets = {
    VerifierBudget{"h2_io", 70'000, true},
    VerifierBudget{"sys_enter", 25'000},
    VerifierBudget{"sys_exit", 84'000},
    VerifierBudget{"on_newtask", 1'000},
    VerifierBudget{"on_task_rename", 1'000},
    VerifierBudget{"on_cgroup_attach", 1'000},
    VerifierBudget{"on_process_exit", 22'000},
    // The Go uprobes (bpf/lib/go_causality.bpf.h), kernels with uprobes: 485 and 115 on
    // 6.18.44 (issue 16; sys_exit's global Go functions, the held request bytes of the
    // HTTP/1 parser and its masked target start together took sys_exit to 61,766).
    VerifierBudget{"go_round_trip", 2'000},
    VerifierBudget{"go_request_write", 1'000},
    // The sockets source (bpf/sources/sockets.bpf.h): kernels with BPF trampolines only.
    VerifierBudget{"sk_sendmsg_enter", 3'000},
    VerifierBudget{"sk_sendmsg_exit", 85'000},
    VerifierBudget{"sk_recvmsg_enter", 3'000},
    VerifierBudget{"sk_recvmsg_exit", 85'000},
    VerifierBudget{"sk_sendpage_exit", 75'000},
    VerifierBudget{"sk_h2_sendmsg", 70'000, true},
    VerifierBudget{"sk_h2_recvmsg", 70'000, true},
    VerifierBudget{"sk_accept_exit", 3'000},
    VerifierBudget{"sk_connect_exit", 5'000},
    VerifierBudget{"sk_close_enter", 22'000},
};

constexpr bool verifier_optional(std::string_view program) {
  for (const auto& b : kVerifierBudgets)
    if (b.program == program) return b.optional;
  return false;
}

constexpr std::uint32_t verifier_budget(std::string_view program) {
  for (const auto& b : kVerifierBudgets)
    if (b.program == program) return b.max_verified_insns;
  return kDefaultVerifierBudget;
}

}  // namespace difftrace::bpf
