// PcapSource: reads a pcap or pcapng capture with libpcap and yields its TCP segments.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "replay/packet_decoder.h"
#include "result.h"
#include "replay/tcp_segment.h"

namespace difftrace::replay {

struct ReadCounters {
  uint64_t records = 0;           // records read (decoded or skipped), the corrupt one excluded
  uint64_t captured_bytes = 0;    // sum of their captured lengths
  uint64_t snaplen_cut_records = 0;  // records with caplen < len
  uint64_t corrupt_records = 0;   // 1 when reading stopped at a truncated or corrupt record
};

class PcapSource {
 public:
  enum class Next {
    segment,  // `out` holds the next TCP segment
    end,      // the capture is exhausted
    error,    // reading stopped at a truncated/corrupt record: see error(); segments so far stand
  };

  // Opens a pcap or pcapng file (timestamps at nanosecond precision whatever the file's).
  // Fails for a missing/unreadable file, an unknown format, or a link type replay cannot decode.
  static Result<PcapSource> open(const std::string& path);
  // Same over an open stream, e.g. fmemopen(); the source owns `file` and closes it.
  // `name` only appears in messages.
  static Result<PcapSource> open_stream(FILE* file, const std::string& name);

  PcapSource(PcapSource&&) noexcept = default;
  PcapSource& operator=(PcapSource&&) noexcept = default;
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;
  ~PcapSource() = default;

  // Reads records until one decodes to a TCP segment (others are counted and skipped).
  // Once it returned `end` or `error` it keeps returning that.
  Next next(TcpSegment& out);

  const std::string& name() const { return name_; }
  int dlt() const { return dlt_; }
  LinkType link_type() const { return link_type_; }
  // Set when next() returned Next::error: "FILE: record N: what libpcap said; ...".
  const std::string& error() const { return error_; }
  const ReadCounters& read_counters() const { return read_counters_; }
  const DecodeCounters& decode_counters() const { return decode_counters_; }

 private:
  // Closes the capture, and only then frees the buffer its FILE reads through (when given).
  struct PcapCloser {
    std::unique_ptr<char[]> file_buffer;
    void operator()(pcap_t* pcap) const { pcap_close(pcap); }
  };

  PcapSource(std::unique_ptr<pcap_t, PcapCloser> pcap, std::string name, int dlt, LinkType link);
  static Result<PcapSource> adopt(pcap_t* pcap, const std::string& name);
  Next fail(const std::string& what);

  std::unique_ptr<pcap_t, PcapCloser> pcap_;
  std::string name_;
  int dlt_ = 0;
  LinkType link_type_ = LinkType::ethernet;
  bool done_ = false;
  std::string error_;
  ReadCounters read_counters_;
  DecodeCounters decode_counters_;
};

}  // namespace difftrace::replay
