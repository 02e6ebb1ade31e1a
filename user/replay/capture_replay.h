// replay_capture: drives every TCP segment of a capture through a TcpReassembler.
#pragma once

#include <string>

#include "replay/pcap_source.h"
#include "result.h"
#include "replay/stream_sink.h"
#include "replay/tcp_reassembly.h"

namespace difftrace::replay {

struct CaptureSummary {
  ReadCounters read;
  DecodeCounters decode;
  ReassemblyCounters tcp;
  // Empty when the whole capture was read; otherwise why reading stopped early (everything
  // before that point was still reassembled and delivered).
  std::string stopped_early;
};

// Reads `source` to its end (or its first corrupt record), then finishes `reassembler`.
CaptureSummary replay_capture(PcapSource& source, TcpReassembler& reassembler);

// Opens `path` and replays it into `sink`. Fails only when the file cannot be opened or its link
// type is not supported; a truncated or corrupt file gives a summary with stopped_early set.
Result<CaptureSummary> replay_file(const std::string& path, StreamSink& sink,
                                   const ReassemblyLimits& limits = {});

}  // namespace difftrace::replay
