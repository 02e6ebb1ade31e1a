#include "replay/capture_replay.h"

namespace difftrace::replay {

CaptureSummary replay_capture(PcapSource& source, TcpReassembler& reassembler) {
  CaptureSummary summary;
  TcpSegment segment;
  PcapSource::Next next;
  while ((next = source.next(segment)) == PcapSource::Next::segment) reassembler.process(segment);
  reassembler.finish();
  if (next == PcapSource::Next::error) summary.stopped_early = source.error();
  summary.read = source.read_counters();
  summary.decode = source.decode_counters();
  summary.tcp = reassembler.counters();
  return summary;
}

Result<CaptureSummary> replay_file(const std::string& path, StreamSink& sink,
                                   const ReassemblyLimits& limits) {
  auto source = PcapSource::open(path);
  if (!source) return source.error();
  TcpReassembler reassembler(sink, limits);
  return replay_capture(source.value(), reassembler);
}

}  // namespace difftrace::replay
