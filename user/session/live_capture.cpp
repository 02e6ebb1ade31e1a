#include "session/live_capture.h"

#include "bpf/capture_program.h"
#include "bpf/kernel_filter_store.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <fstream>

#include "check/require_features.h"
#include "config/service_map.h"
#include "env/environment.h"
#include "error.h"

namespace difftrace::session {
namespace {

void touch(const std::string& path) {
  std::ofstream f(path);
  if (!f) throw FatalError(ExitCode::kUsage, errno_message("--ready-file " + path, errno));
}

}  // namespace

LiveCapture::LiveCapture(targets::TargetSet targets, LiveCaptureOptions options)
    : targets_(std::move(targets)), options_(std::move(options)) {}

LiveCapture::~LiveCapture() = default;

std::unique_ptr<filter::FilterStore> LiveCapture::make_store(
    const filter::FilterSettings& settings) {
  check::require_kernel_features();  // privileges, bpf(), BTF, every BPF feature used
  env::ensure_tracefs();
  program_ = std::make_unique<bpf::CaptureProgram>(targets_, settings, options_.hook_source);
  return std::make_unique<bpf::KernelFilterStore>(*program_);
}

void LiveCapture::start(pipeline::SpanPipeline& into) {
  pipeline_ = &into;
  collector_ = std::make_unique<capture::Collector>(program_->events_fd(), decoder_);
  decoder_.on_go_process([this](std::uint32_t pid) {
    program_->set_no_thread_causes(pid);
    // By goroutine where the uprobes go in; else its outbound requests' causes stay unknown.
    if (std::string why = program_->attach_go(pid); !why.empty())
      spdlog::info("Go process {}: causes of its outbound requests unknown: {}", pid, why);
  });
  program_->attach();
  for (pid_t pid : targets_.pids) decoder_.look_at_process(static_cast<std::uint32_t>(pid));
  if (!program_->skipped().empty())
    spdlog::info("hooks this kernel lacks, left out: {}", fmt::join(program_->skipped(), ", "));
  if (!options_.ready_file.empty()) touch(options_.ready_file);
  spdlog::info("tracing ({} probes attached, hook source {} ({}), filter {}){}",
               program_->attached_count(), program_->source(), program_->source_reason(),
               options_.no_filter ? "off" : "on",
               options_.duration_s > 0 ? fmt::format(" for {}s", options_.duration_s)
                                       : "; Ctrl-C stops");
  if (options_.duration_s > 0)
    deadline_ns_ = capture::WallClock::monotonic_now_ns() +
                   static_cast<std::uint64_t>(options_.duration_s * 1e9);
}

bool LiveCapture::poll(std::chrono::milliseconds timeout) {
  collector_->poll(static_cast<int>(timeout.count()));
  const std::uint64_t now = capture::WallClock::monotonic_now_ns();
  pipeline_->add(collector_->take(), now);
  pipeline_->tick(now);
  return !(deadline_ns_ && now >= deadline_ns_);
}

void LiveCapture::drain() {
  // Stop the probes first so that nothing arrives after the last drain.
  program_->detach();
  while (collector_->drain())
    pipeline_->add(collector_->take(), capture::WallClock::monotonic_now_ns());
  pipeline_->add(collector_->take(), capture::WallClock::monotonic_now_ns());
}

void LiveCapture::add_counters(stats::RunStats& stats) const {
  if (program_) stats.set_kernel(program_->read_counters());
  stats.add_user_counter("invalid_trace_context", decoder_.invalid_trace_contexts());
  stats.add_user_counter("go_causes_dropped", decoder_.go_causes_dropped());
  stats.add_user_counter("go_trace_ids_renewed", decoder_.go_traces_renewed());
  stats.add_user_counter("malformed_events", collector_ ? collector_->malformed() : 0);
  if (collector_) {
    stats.add_user_counter("http2_kernel_path_agreed", collector_->http2_blocks().kernel_paths_agreed());
    stats.add_user_counter("http2_kernel_path_differed",
                           collector_->http2_blocks().kernel_paths_differed());
  }
}

}  // namespace difftrace::session

namespace difftrace::session {

std::function<void()> LiveCapture::prepare_targets(const config::Config& next) {
  if (!options_.targets_follow_config) return [] {};
  auto targets = config::targets_of(next, /*changeable=*/true);
  return [this, targets = std::move(targets)] {
    if (program_) program_->set_targets(targets);
    targets_ = targets;
  };
}

void LiveCapture::add_to_snapshot(nlohmann::json& snapshot) const {
  nlohmann::json programs = nlohmann::json::array();
  std::size_t attached = 0;
  if (program_) {
    for (const auto& p : program_->loaded_programs()) {
      programs.push_back(
          {{"name", p.name}, {"attached", p.attached}, {"verified_insns", p.verified_insns}});
      attached += p.attached;
    }
  }
  snapshot["programs"] = std::move(programs);
  snapshot["probes_attached"] = attached;
}

}  // namespace difftrace::session
