#include "bpf/capture_program.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <map>
#include <string_view>

#include "filter_maps.h"  // types of the skeleton's rodata
#include "go_causality.h"
#include "capture.skel.h"
#include "bpf/kernel_hooks.h"
#include "bpf/source_selection.h"
#include "capture/go_probe_sites.h"
#include "error.h"

namespace difftrace::bpf {

namespace {

// The programs reached by tail call (HTTP/2's follower, bpf/lib/http2.bpf.h), each with
// the prog array its caller calls through: loaded with their source, never attached.
struct TailCallTarget {
  bpf_program* program;
  bpf_map* array;
};

std::vector<TailCallTarget> tail_call_targets(::capture& skel) {
  return {{skel.progs.h2_io, skel.maps.h2_progs},
          {skel.progs.sk_h2_sendmsg, skel.maps.h2_sendmsg_progs},
          {skel.progs.sk_h2_recvmsg, skel.maps.h2_recvmsg_progs}};
}

bool is_tail_call_target(::capture& skel, const bpf_program* p) {
  for (const auto& t : tail_call_targets(skel))
    if (t.program == p) return true;
  return false;
}

[[noreturn]] void fail(const std::string& step, int err) {
  throw FatalError(ExitCode::kEnvironment, errno_message(step, err));
}

bool is_go_probe(std::string_view section) { return section.substr(0, 6) == "uprobe"; }

// Go processes with uprobes attached at most: two links and a go_procs entry each.
constexpr std::size_t kMaxGoProcesses = DT_MAX_TARGET_PIDS;

}  // namespace

void set_load_settings(::capture& skel, const targets::TargetSet& targets,
                       const filter::FilterSettings& filter) {
  skel.rodata->self_tgid = static_cast<__u32>(getpid());
  skel.rodata->trace_all = targets.all;
  skel.rodata->use_pid_targets = targets.changeable || !targets.pids.empty();
  skel.rodata->use_comm_targets = targets.changeable || !targets.comms.empty();
  skel.rodata->use_cgroup_targets = targets.changeable || !targets.cgroup_ids.empty();
  skel.rodata->filter_settings.no_filter = filter.no_filter;
  skel.rodata->filter_settings.default_role = filter.default_role;
  skel.rodata->filter_settings.keep_spans =
      std::min<std::uint8_t>(filter.keep_spans, DT_KEEP_SPANS);
  skel.rodata->filter_settings.keep_mask = filter::keep_slots(filter.keep_traces) - 1;
}

void CaptureProgram::SkelDeleter::operator()(::capture* s) const { capture__destroy(s); }

CaptureProgram::CaptureProgram(const targets::TargetSet& targets,
                               const filter::FilterSettings& filter, HookSourceMode mode) {
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
  // HTTP/2 lives in programs of its own (h2_io, sk_h2_*: bpf/lib/http2.bpf.h). A kernel whose
  // verifier refuses them still gets every other program: HTTP/2 is then not followed, and
  // said so.
  for (bool with_h2 : {true, false}) {
    ::capture* raw = capture__open_opts(&opts);
    if (!raw) fail("opening the capture BPF object", errno);
    skel_.reset(raw);
    probes_.clear();
    source_.clear();

    set_load_settings(*skel_, targets, filter);
    for (bpf_map* m : {skel_->maps.keep, skel_->maps.keep_locks})
      if (int err = bpf_map__set_max_entries(m, filter::keep_slots(filter.keep_traces)))
        fail("sizing the keep-buffer", -err);

    pick_source(mode);
    release_kernel_btf();  // picked: libbpf parses its own copies to load
    // The picked source's HTTP/2 follower (the others' are left out with their source).
    bool h2_tried = false;
    for (const auto& t : tail_call_targets(*skel_)) {
      if (!bpf_program__autoload(t.program)) continue;
      if (with_h2) {
        h2_tried = true;
        continue;
      }
      bpf_program__set_autoload(t.program, false);
      ProbeStatus& h2 = probe(bpf_program__name(t.program));
      h2.state = ProbeStatus::State::kLeftOut;
      h2.detail = "refused by this kernel's verifier: HTTP/2 not followed";
    }
    const int err = capture__load(skel_.get());
    if (!err) break;
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
    if (!h2_tried)
      fail("loading the capture BPF programs into the kernel (run with --verbose for the "
           "verifier log)",
           err);
    spdlog::warn("HTTP/2 is not followed: this kernel refused its programs ({}); loading "
                 "the others without them",
                 std::strerror(err < 0 ? -err : err));
  }
  fill_target_maps(targets);
  targets_ = targets;
  fill_tail_calls();
}

// Each loaded tail-call target into its caller's prog array.
void CaptureProgram::fill_tail_calls() {
  __u32 key = 0;
  for (const auto& t : tail_call_targets(*skel_)) {
    int fd = bpf_program__fd(t.program);
    if (fd < 0) continue;  // left out with its source, or refused
    if (bpf_map__update_elem(t.array, &key, sizeof key, &fd, sizeof fd, 0))
      fail(std::string("adding ") + bpf_program__name(t.program) + " to its tail call map", errno);
  }
}

CaptureProgram::~CaptureProgram() = default;

// The hook source for this kernel and mode (bpf/source_selection.h); the other sources'
// programs stay unloaded, and so do the picked source's optional programs and the process
// hooks whose hook this kernel lacks.
void CaptureProgram::pick_source(HookSourceMode mode) {
  std::map<std::string, std::string> sections;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj)
    sections[bpf_program__name(prog)] = bpf_program__section_name(prog);
  const KernelHooks& kernel = probe_kernel_hooks();
  const SourceChoice choice = choose_hook_source(mode, sections, kernel);
  if (choice.source.empty()) throw FatalError(ExitCode::kEnvironment, choice.reason);
  source_ = choice.source;
  source_reason_ = choice.reason;
  bpf_object__for_each_program(prog, skel_->obj) {
    ProbeStatus st;
    st.program = bpf_program__name(prog);
    st.source = source_of(st.program);
    st.hook = bpf_program__section_name(prog);
    if (is_go_probe(st.hook)) st.source = "go";  // attached per Go process (attach_go)
    if (st.source == "process" || st.source == "go")
      st.detail = missing_hook(st.hook, kernel);
    else if (st.source != source_)
      st.detail = "source " + source_ + " was picked";
    else if (auto it = choice.optional_missing.find(st.program); it != choice.optional_missing.end())
      st.detail = it->second;
    st.state = st.detail.empty() ? ProbeStatus::State::kNotAttached : ProbeStatus::State::kLeftOut;
    if (st.state == ProbeStatus::State::kLeftOut) bpf_program__set_autoload(prog, false);
    if (st.detail.empty()) st.detail = "not attached yet";
    probes_.push_back(std::move(st));
  }
}

ProbeStatus& CaptureProgram::probe(const std::string& program) {
  for (auto& p : probes_)
    if (p.program == program) return p;
  probes_.push_back({program, source_of(program), "", ProbeStatus::State::kLeftOut, ""});
  return probes_.back();
}

std::vector<std::string> CaptureProgram::skipped() const {
  std::vector<std::string> names;
  for (const auto& p : probes_)
    if (p.state != ProbeStatus::State::kAttached && (p.source == "process" || p.source == source_))
      names.push_back(p.program);
  return names;
}

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

namespace {

template <typename T>
std::vector<T> missing_from(const std::vector<T>& from, const std::vector<T>& in) {
  std::vector<T> out;
  for (const auto& v : from)
    if (std::find(in.begin(), in.end(), v) == in.end()) out.push_back(v);
  return out;
}

}  // namespace

void CaptureProgram::set_targets(const targets::TargetSet& next) {
  if (!targets_.changeable)
    throw std::logic_error("set_targets on a program loaded with fixed targets");
  targets::TargetSet gone;
  gone.pids = missing_from(targets_.pids, next.pids);
  gone.comms = missing_from(targets_.comms, next.comms);
  gone.cgroup_ids = missing_from(targets_.cgroup_ids, next.cgroup_ids);
  for (pid_t pid : gone.pids) {
    __u32 key = static_cast<__u32>(pid);
    bpf_map__delete_elem(skel_->maps.target_pids, &key, sizeof key, 0);
  }
  for (const auto& comm : gone.comms) {
    char key[DT_COMM_LEN] = {};
    std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
    bpf_map__delete_elem(skel_->maps.target_comms, key, sizeof key, 0);
  }
  for (auto id : gone.cgroup_ids) {
    __u64 key = id;
    bpf_map__delete_elem(skel_->maps.target_cgroups, &key, sizeof key, 0);
  }
  fill_target_maps(next);  // updates of entries there already are change nothing
  // Threads' cached verdicts were taken against the old maps: take them again.
  __atomic_fetch_add(&skel_->data->targets_gen, 1, __ATOMIC_SEQ_CST);
  targets_ = next;
  targets_.changeable = true;
}

void CaptureProgram::services_changed() {
  __atomic_fetch_add(&skel_->data->services_gen, 1, __ATOMIC_SEQ_CST);
}

std::vector<LoadedProgram> CaptureProgram::loaded_programs() const {
  std::vector<LoadedProgram> out;
  for (const auto& p : probes_) {
    if (p.state == ProbeStatus::State::kLeftOut) continue;
    LoadedProgram lp{p.program, p.state == ProbeStatus::State::kAttached, 0};
    const bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, p.program.c_str());
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (prog && bpf_program__fd(prog) >= 0 &&
        bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
      lp.verified_insns = info.verified_insns;
    out.push_back(std::move(lp));
  }
  return out;
}

void CaptureProgram::attach() {
  // The exit programs first (sys_exit, the fexit ones): an entry saved before its exit
  // program is attached would wait for an exit that is never seen.
  auto is_exit = [](bpf_program* p) {
    const std::string_view name = bpf_program__name(p);
    return name.size() > 5 && name.substr(name.size() - 5) == "_exit";
  };
  std::vector<bpf_program*> order;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj)
    if (is_exit(prog)) order.push_back(prog);
  bpf_object__for_each_program(prog, skel_->obj)
    if (!is_exit(prog)) order.push_back(prog);
  for (bpf_program* p : order) {
    if (!bpf_program__autoload(p) || is_go_probe(bpf_program__section_name(p))) continue;
    ProbeStatus& st = probe(bpf_program__name(p));
    if (is_tail_call_target(*skel_, p)) {
      // In the object's program array from load on: running whenever its caller is.
      st.state = ProbeStatus::State::kAttached;
      st.detail = "tail call";
      continue;
    }
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      int err = errno;
      // Without its source's hooks the tool captures nothing useful: a failure is fatal.
      if (st.source == source_) fail("attaching " + st.program, err);
      spdlog::warn("not attached: {} ({})", st.program, std::strerror(err));
      st.state = ProbeStatus::State::kNotAttached;
      st.detail = std::strerror(err);
      continue;
    }
    st.state = ProbeStatus::State::kAttached;
    st.detail.clear();
    links_.emplace_back(link);
  }
  spdlog::debug("source {}: attached {} programs", source_, links_.size());
}

void CaptureProgram::detach() {
  links_.clear();
  go_links_.clear();
  for (auto& p : probes_)
    if (p.state == ProbeStatus::State::kAttached) {
      p.state = ProbeStatus::State::kNotAttached;
      p.detail = "detached";
    }
}

int CaptureProgram::events_fd() const { return bpf_map__fd(skel_->maps.events); }

const bpf_object* CaptureProgram::object() const { return skel_->obj; }

std::uint8_t CaptureProgram::hist_epoch() const { return skel_->bss->hist_epoch; }

std::uint8_t CaptureProgram::keep_spans() const {
  return skel_->rodata->filter_settings.keep_spans;
}

std::uint32_t CaptureProgram::keep_mask() const {
  return skel_->rodata->filter_settings.keep_mask;
}

void CaptureProgram::set_hist_epoch(std::uint8_t epoch) {
  __atomic_store_n(&skel_->bss->hist_epoch, epoch, __ATOMIC_RELEASE);
}

void CaptureProgram::set_no_thread_causes(std::uint32_t pid) {
  const __u8 one = 1;
  if (bpf_map__update_elem(skel_->maps.no_thread_causes, &pid, sizeof pid, &one, sizeof one,
                           BPF_ANY))
    spdlog::debug("no_thread_causes: pid {} not written (map full): its causes stay judged by "
                  "thread, and user space drops them",
                  pid);
}

std::string CaptureProgram::attach_go(std::uint32_t pid) {
  bpf_program* progs[] = {skel_->progs.go_round_trip, skel_->progs.go_request_write};
  if (!bpf_program__autoload(progs[0])) return probe(bpf_program__name(progs[0])).detail;
  if (go_links_.size() >= 2 * kMaxGoProcesses)
    return "uprobes already attached for " + std::to_string(kMaxGoProcesses) + " Go processes";
  const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  auto sites = capture::find_go_probe_sites(exe);
  if (!sites) return sites.error().message();
  const std::uint64_t offsets[] = {sites->round_trip, sites->request_write};
  std::vector<LinkPtr> links;
  for (int i = 0; i < 2; i++) {
    bpf_uprobe_opts opts{};
    opts.sz = sizeof opts;
    bpf_link* l = bpf_program__attach_uprobe_opts(progs[i], static_cast<pid_t>(pid), exe.c_str(),
                                                  offsets[i], &opts);
    if (!l) return errno_message(std::string("attaching ") + bpf_program__name(progs[i]) + " to " + exe, errno);
    links.emplace_back(l);
  }
  // Written once both probes are in: the kernel follows the process by goroutine from here.
  dt_go_proc proc{};
  proc.g_tls_off = sites->g_tls_offset;
  if (bpf_map__update_elem(skel_->maps.go_procs, &pid, sizeof pid, &proc, sizeof proc, BPF_ANY))
    return errno_message("adding pid " + std::to_string(pid) + " to go_procs", errno);
  skel_->bss->go_procs_known = 1;  // the kernel looks in go_procs from now on
  for (auto& l : links) go_links_.push_back(std::move(l));
  // A probe past its function's entry sits on the prologue's branch: one trap per hit, not two.
  spdlog::info("Go process {}: uprobes attached, causes by goroutine ({}+{}, {}+{})", pid,
               capture::kGoRoundTripSymbol, sites->round_trip_branch,
               capture::kGoRequestWriteSymbol, sites->request_write_branch);
  for (bpf_program* p : progs) {
    ProbeStatus& st = probe(bpf_program__name(p));
    st.state = ProbeStatus::State::kAttached;
    st.detail = "attached to " + std::to_string(go_links_.size() / 2) + " Go processes";
  }
  return "";
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
