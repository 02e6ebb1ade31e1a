// Which hook source a kernel gets (bpf/source_selection.h): sockets where fentry/fexit work
// and the TCP functions are in BTF, syscalls otherwise, --hook-source to force one, and the
// reason check prints. Kernels are described, not probed.
#include <catch2/catch.hpp>

#include <set>

#include "bpf/source_selection.h"

using namespace difftrace::bpf;

namespace {

// The capture object's programs and sections, as bpf/capture.bpf.c defines them.
const std::map<std::string, std::string> kSections = {
    {"sys_enter", "raw_tracepoint/sys_enter"},
    {"sys_exit", "raw_tracepoint/sys_exit"},
    {"sk_sendmsg_enter", "fentry/tcp_sendmsg"},
    {"sk_sendmsg_exit", "fexit/tcp_sendmsg"},
    {"sk_recvmsg_enter", "fentry/tcp_recvmsg"},
    {"sk_recvmsg_exit", "fexit/tcp_recvmsg"},
    {"sk_sendpage_exit", "fexit/tcp_sendpage"},
    {"sk_h2_sendmsg", "fexit/tcp_sendmsg"},
    {"sk_h2_recvmsg", "fexit/tcp_recvmsg"},
    {"h2_io", "raw_tp"},
    {"sk_accept_exit", "fexit/inet_csk_accept"},
    {"sk_connect_exit", "fexit/tcp_connect"},
    {"sk_close_enter", "fentry/tcp_close"},
    {"on_newtask", "tracepoint/task/task_newtask"},
};

const std::set<std::string> kFunctions61 = {"tcp_sendmsg", "tcp_recvmsg", "tcp_sendpage",
                                            "inet_csk_accept", "tcp_connect", "tcp_close"};

KernelHooks kernel(bool trampolines, std::set<std::string> functions) {
  KernelHooks k;
  k.trampolines = trampolines;
  k.trampolines_detail = trampolines ? "loaded and attached fentry on vfs_read"
                                     : "loading fentry on vfs_read: not supported by this kernel";
  k.has_function = [functions](const std::string& f) { return functions.count(f) > 0; };
  k.has_tracepoint = [](const std::string&) { return true; };
  return k;
}

}  // namespace

TEST_CASE("auto picks sockets where trampolines and every TCP function are there", "[source]") {
  const SourceChoice c = choose_hook_source(HookSourceMode::kAuto, kSections,
                                            kernel(true, kFunctions61));
  CHECK(c.source == "sockets");
  CHECK(c.reason == "the first choice: this kernel has every hook it needs");
  CHECK(c.optional_missing.empty());
}

TEST_CASE("a kernel without tcp_sendpage (6.5+) runs sockets without that program",
          "[source]") {
  auto functions = kFunctions61;
  functions.erase("tcp_sendpage");
  const SourceChoice c =
      choose_hook_source(HookSourceMode::kAuto, kSections, kernel(true, functions));
  CHECK(c.source == "sockets");
  REQUIRE(c.optional_missing.size() == 1);
  CHECK(c.optional_missing.at("sk_sendpage_exit") ==
        "this kernel's BTF has no function tcp_sendpage");
}

TEST_CASE("without trampolines auto falls back to syscalls and says why", "[source]") {
  const SourceChoice c = choose_hook_source(HookSourceMode::kAuto, kSections,
                                            kernel(false, kFunctions61));
  CHECK(c.source == "syscalls");
  CHECK(c.reason ==
        "sockets cannot run: this kernel has no BPF trampolines for fentry/fexit (loading "
        "fentry on vfs_read: not supported by this kernel)");
}

TEST_CASE("a required TCP function missing from BTF means syscalls", "[source]") {
  auto functions = kFunctions61;
  functions.erase("tcp_recvmsg");
  const SourceChoice c =
      choose_hook_source(HookSourceMode::kAuto, kSections, kernel(true, functions));
  CHECK(c.source == "syscalls");
  CHECK(c.reason == "sockets cannot run: this kernel's BTF has no function tcp_recvmsg");
}

TEST_CASE("--hook-source forces a source, and refuses one the kernel cannot run", "[source]") {
  SourceChoice c = choose_hook_source(HookSourceMode::kSyscalls, kSections,
                                      kernel(true, kFunctions61));
  CHECK(c.source == "syscalls");
  CHECK(c.reason == "chosen by --hook-source syscalls");

  c = choose_hook_source(HookSourceMode::kSockets, kSections, kernel(true, kFunctions61));
  CHECK(c.source == "sockets");
  CHECK(c.reason == "chosen by --hook-source sockets");

  c = choose_hook_source(HookSourceMode::kSockets, kSections, kernel(false, kFunctions61));
  CHECK(c.source.empty());
  CHECK(c.reason.rfind("--hook-source sockets: this kernel cannot run it: this kernel has no "
                       "BPF trampolines",
                       0) == 0);
}

TEST_CASE("no source at all is an error naming each source's missing hook", "[source]") {
  auto sections = kSections;
  sections.erase("sys_exit");
  const SourceChoice c =
      choose_hook_source(HookSourceMode::kAuto, sections, kernel(false, kFunctions61));
  CHECK(c.source.empty());
  CHECK(c.reason.find("sockets cannot run: this kernel has no BPF trampolines") !=
        std::string::npos);
  CHECK(c.reason.find("syscalls cannot run: its program sys_exit is not in the object") !=
        std::string::npos);
}

TEST_CASE("every program belongs to its source, the others to the process hooks",
          "[source]") {
  CHECK(source_of("sk_sendpage_exit") == "sockets");
  CHECK(source_of("sk_recvmsg_exit") == "sockets");
  CHECK(source_of("sys_enter") == "syscalls");
  CHECK(source_of("on_newtask") == "process");
  CHECK(parse_hook_source_mode("sockets") == HookSourceMode::kSockets);
  CHECK_FALSE(parse_hook_source_mode("kprobes").has_value());
  CHECK(missing_hook("tracepoint/task/task_newtask", kernel(true, {})).empty());
}
