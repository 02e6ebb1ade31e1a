#include "bpf/capture_program.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <set>

#include "filter_maps.h"  // types of the skeleton's rodata
#include "capture.skel.h"
#include "error.h"

namespace difftrace::bpf {
namespace fs = std::filesystem;

namespace {

// Without these the tool captures nothing useful: a failure is fatal.
const std::set<std::string> kRequired = {"sys_enter", "sys_exit"};

// "tracepoint/syscalls/sys_enter_read" -> does this kernel have that event?
bool tracepoint_exists(const std::string& section) {
  const std::string prefix = "tracepoint/";
  if (section.rfind(prefix, 0) != 0) return true;
  std::string rel = section.substr(prefix.size());
  for (const char* root : {"/sys/kernel/debug/tracing/events/", "/sys/kernel/tracing/events/"})
    if (fs::exists(std::string(root) + rel)) return true;
  return false;
}

[[noreturn]] void fail(const std::string& step, int err) {
  throw FatalError(ExitCode::kEnvironment, errno_message(step, err));
}

}  // namespace

void set_load_settings(capture& skel, const targets::TargetSet& targets,
                       const filter::FilterSettings& filter) {
  skel.rodata->self_tgid = static_cast<__u32>(getpid());
  skel.rodata->trace_all = targets.all;
  skel.rodata->use_pid_targets = !targets.pids.empty();
  skel.rodata->use_comm_targets = !targets.comms.empty();
  skel.rodata->use_cgroup_targets = !targets.cgroup_ids.empty();
  skel.rodata->filter_settings.no_filter = filter.no_filter;
  skel.rodata->filter_settings.default_role = filter.default_role;
  skel.rodata->filter_settings.keep_spans =
      std::min<std::uint8_t>(filter.keep_spans, DT_KEEP_SPANS);
}

void CaptureProgram::SkelDeleter::operator()(capture* s) const { capture__destroy(s); }

CaptureProgram::CaptureProgram(const targets::TargetSet& targets,
                               const filter::FilterSettings& filter) {
  // With --verbose, keep the whole verifier log: libbpf's default buffer
  // holds only its start, and a rejection is explained at its end.
  static std::vector<char> log_buf;
  bpf_object_open_opts opts{};
  opts.sz = sizeof opts;
  if (spdlog::should_log(spdlog::level::debug)) {
    log_buf.assign(256u << 20, '\0');
    opts.kernel_log_buf = log_buf.data();
    opts.kernel_log_size = log_buf.size();
    opts.kernel_log_level = 1;
  }
  capture* raw = capture__open_opts(&opts);
  if (!raw) fail("opening the capture BPF object", errno);
  skel_.reset(raw);

  set_load_settings(*skel_, targets, filter);
  if (int err = bpf_map__set_max_entries(skel_->maps.keep, std::max(1u, filter.keep_traces)))
    fail("sizing the keep-buffer", -err);

  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    std::string name = bpf_program__name(prog);
    if (tracepoint_exists(bpf_program__section_name(prog))) continue;
    if (kRequired.count(name))
      throw FatalError(ExitCode::kEnvironment,
                       std::string("this kernel has no tracepoint ") +
                           bpf_program__section_name(prog) + ", which difftrace needs");
    bpf_program__set_autoload(prog, false);
    skipped_.push_back(name);
  }

  if (int err = capture__load(skel_.get())) {
    if (!log_buf.empty()) {
      // The last lines say why the verifier refused.
      std::string_view log(log_buf.data());
      std::size_t pos = log.size();
      for (int lines = 0; lines < 60 && pos > 0; lines++) pos = log.rfind('\n', pos - 1);
      spdlog::debug("verifier log, last lines:\n{}", log.substr(pos == std::string_view::npos ? 0 : pos));
    }
    if (err == -EPERM || err == EPERM)
      throw FatalError(ExitCode::kEnvironment,
                       "loading the capture BPF programs into the kernel: Operation not "
                       "permitted (BPF refused: a container or seccomp sandbox without BPF, "
                       "kernel lockdown, or missing CAP_BPF/CAP_SYS_ADMIN)");
    fail("loading the capture BPF programs into the kernel (run with --verbose for the "
         "verifier log)",
         err);
  }
  fill_target_maps(targets);
}

CaptureProgram::~CaptureProgram() = default;

void CaptureProgram::fill_target_maps(const targets::TargetSet& targets) {
  __u8 one = 1;
  for (pid_t pid : targets.pids) {
    __u32 key = static_cast<__u32>(pid);
    if (bpf_map__update_elem(skel_->maps.target_pids, &key, sizeof key, &one, sizeof one, 0))
      fail("adding pid " + std::to_string(pid) + " to the target map", errno);
  }
  for (const auto& comm : targets.comms) {
    char key[DT_COMM_LEN] = {};
    std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
    if (bpf_map__update_elem(skel_->maps.target_comms, key, sizeof key, &one, sizeof one, 0))
      fail("adding comm " + comm + " to the target map", errno);
  }
  for (auto id : targets.cgroup_ids) {
    __u64 key = id;
    if (bpf_map__update_elem(skel_->maps.target_cgroups, &key, sizeof key, &one, sizeof one, 0))
      fail("adding a cgroup to the target map", errno);
  }
}

void CaptureProgram::attach() {
  // The exit program first: an entry saved before its exit program is
  // attached would wait for an exit that is never seen.
  std::vector<bpf_program*> order = {skel_->progs.sys_exit};
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj)
    if (prog != skel_->progs.sys_exit) order.push_back(prog);
  for (bpf_program* p : order) {
    if (!bpf_program__autoload(p)) continue;
    std::string name = bpf_program__name(p);
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      int err = errno;
      if (kRequired.count(name)) fail("attaching " + name, err);
      spdlog::warn("not attached: {} ({})", name, std::strerror(err));
      skipped_.push_back(name);
      continue;
    }
    links_.emplace_back(link);
  }
  spdlog::debug("attached {} programs, skipped {}", links_.size(), skipped_.size());
}

int CaptureProgram::events_fd() const { return bpf_map__fd(skel_->maps.events); }

const bpf_object* CaptureProgram::object() const { return skel_->obj; }

std::uint8_t CaptureProgram::hist_epoch() const { return skel_->bss->hist_epoch; }

std::uint8_t CaptureProgram::keep_spans() const {
  return skel_->rodata->filter_settings.keep_spans;
}

void CaptureProgram::set_hist_epoch(std::uint8_t epoch) {
  __atomic_store_n(&skel_->bss->hist_epoch, epoch, __ATOMIC_RELEASE);
}

KernelCounters CaptureProgram::read_counters() const {
  KernelCounters total{};
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return total;
  std::vector<__u64> per_cpu(static_cast<std::size_t>(ncpu));
  for (__u32 i = 0; i < DT_C_MAX; i++) {
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &i, per_cpu.data())) continue;
    for (auto v : per_cpu) total[i] += v;
  }
  return total;
}

}  // namespace difftrace::bpf
