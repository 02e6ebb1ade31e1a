// The loaded capture program (bpf/capture.bpf.c): opened, configured with the
// targets, loaded and attached; destroying it detaches every link and frees
// every map.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpf/hook_sources.h"
#include "bpf/kernel_counters.h"
#include "bpf/links.h"
#include "capture.h"
#include "filter/filter_store.h"
#include "targets/target_set.h"

struct capture;  // generated skeleton
struct bpf_object;

namespace difftrace::bpf {

// The skeleton's load-time settings (rodata) for these targets and filter settings. The
// verifier prunes by them, so `check` loads with the same mapping (costliest settings).
void set_load_settings(::capture& skel, const targets::TargetSet& targets,
                       const filter::FilterSettings& filter);

// A program in the kernel: its name, whether its hook is attached, and how many instructions
// the verifier processed to load it (0 when the kernel does not say).
struct LoadedProgram {
  std::string name;
  bool attached = false;
  std::uint32_t verified_insns = 0;
};

class CaptureProgram {
 public:
  // Throws FatalError(kEnvironment) with the failing step and errno.
  // mode: the hook source (--hook-source); auto picks the first this kernel runs.
  CaptureProgram(const targets::TargetSet& targets, const filter::FilterSettings& filter = {},
                 HookSourceMode mode = HookSourceMode::kAuto);
  ~CaptureProgram();
  CaptureProgram(const CaptureProgram&) = delete;
  CaptureProgram& operator=(const CaptureProgram&) = delete;

  // Attaches every loaded program; throws if a required one fails.
  void attach();
  void detach();

  // The targets of a program loaded with changeable ones (TargetSet::changeable), replaced in
  // its maps while it runs. A pid taken out stops being traced; the children it forked since
  // the program was loaded stay traced until they exit.
  void set_targets(const targets::TargetSet& next);
  // Every program loaded (those left out are not), with its verifier count.
  std::vector<LoadedProgram> loaded_programs() const;

  int events_fd() const;
  const bpf_object* object() const;
  // The histogram epoch the kernel writes to (.bss, read at every span).
  std::uint8_t hist_epoch() const;
  void set_hist_epoch(std::uint8_t epoch);
  // After service_pids or service_comms changed: connections match their spans' service
  // again (bpf/lib/emit.bpf.h's cache).
  void services_changed();
  // Kept spans per trace the loaded program writes (its keep_spans setting).
  std::uint8_t keep_spans() const;
  // Keep slots - 1 of the loaded program (dt_keep_slot_of's mask).
  std::uint32_t keep_mask() const;
  KernelCounters read_counters() const;
  // Process pid's threads tell nothing of its requests' causes (a Go program): the kernel
  // judges none of its outbound requests' causes from now on (bpf/lib/causality.bpf.h).
  void set_no_thread_causes(std::uint32_t pid);
  // Go program pid's outbound requests get their causes by goroutine: the Go uprobes
  // (bpf/lib/go_causality.bpf.h) are attached to its executable for it alone. Returns ""
  // when attached, else why not (its causes then stay unknown). Never stops the process.
  std::string attach_go(std::uint32_t pid);
  // Names of the picked source's and the process hooks' programs left out or not attached:
  // this kernel lacks their hook (the other sources' programs are not counted).
  std::vector<std::string> skipped() const;
  std::size_t attached_count() const { return links_.size(); }
  // The hook source the loader picked (hook_sources()), and every program's fate.
  const std::string& source() const { return source_; }
  // Why that source (SourceChoice::reason): check and the start line print it.
  const std::string& source_reason() const { return source_reason_; }
  const std::vector<ProbeStatus>& probes() const { return probes_; }

 private:
  void fill_tail_calls();
  void fill_target_maps(const targets::TargetSet& targets);
  void pick_source(HookSourceMode mode);
  ProbeStatus& probe(const std::string& program);

  struct SkelDeleter {
    void operator()(::capture* s) const;
  };
  std::unique_ptr<::capture, SkelDeleter> skel_;
  std::vector<LinkPtr> links_;
  std::vector<LinkPtr> go_links_;  // two per Go process (attach_go)
  std::string source_;
  std::string source_reason_;
  std::vector<ProbeStatus> probes_;
  targets::TargetSet targets_;
};

}  // namespace difftrace::bpf
