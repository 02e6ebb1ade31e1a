#include "replay/pcap_source.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace difftrace::replay {

namespace {

// libpcap reads each record with fread, through the FILE's buffer: glibc's is 4 KiB, one
// read() per 4 KiB (290,000 for a 1.2 GB capture). 64 KiB reads cost a sixth of the kernel
// time of those on the bench capture; 1 MiB ones cost more than 4 KiB ones again (the copy no
// longer stays in the core's cache for the records' memcpy that follows).
constexpr size_t kReadBuffer = 64 << 10;

constexpr const char* kSupportedLinkTypes =
    "replay decodes Ethernet, Linux cooked (SLL, SLL2), raw IP (RAW, IPV4, IPV6) and BSD "
    "loopback (NULL, LOOP) captures; re-capture on another interface or convert the file";

constexpr const char* kExpected = "expected a pcap or pcapng file";

// libpcap's open errors often start with the path itself; say it once.
Error open_error(const std::string& name, const char* errbuf) {
  std::string reason = errbuf;
  if (reason.rfind(name + ": ", 0) == 0) reason.erase(0, name.size() + 2);
  return {"cannot read capture", name, 0, reason + " (" + kExpected + ")"};
}

uint64_t timestamp_ns(const pcap_pkthdr& header) {
  // Nanosecond precision: tv_usec holds nanoseconds. Unsigned arithmetic: a corrupt time wraps.
  return static_cast<uint64_t>(header.ts.tv_sec) * 1'000'000'000u +
         static_cast<uint64_t>(header.ts.tv_usec);
}

}  // namespace

PcapSource::PcapSource(std::unique_ptr<pcap_t, PcapCloser> pcap, std::string name, int dlt,
                       LinkType link)
    : pcap_(std::move(pcap)), name_(std::move(name)), dlt_(dlt), link_type_(link) {}

Result<PcapSource> PcapSource::adopt(pcap_t* raw, const std::string& name) {
  std::unique_ptr<pcap_t, PcapCloser> pcap(raw);
  const int dlt = pcap_datalink(pcap.get());
  const auto link = link_type_from_dlt(dlt);
  if (!link) {
    return Error{"", name, 0,
                 "unsupported link type " + describe_dlt(dlt) + ": " + kSupportedLinkTypes};
  }
  return PcapSource(std::move(pcap), name, dlt, *link);
}

Result<PcapSource> PcapSource::open(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Error{"cannot read capture", path, errno, kExpected};
  // glibc uses a buffer of its own size unless given one.
  auto buffer = std::make_unique<char[]>(kReadBuffer);
  std::setvbuf(file, buffer.get(), _IOFBF, kReadBuffer);
  auto source = open_stream(file, path);
  if (source) source.value().pcap_.get_deleter().file_buffer = std::move(buffer);
  return source;
}

Result<PcapSource> PcapSource::open_stream(FILE* file, const std::string& name) {
  if (file == nullptr) return Error{"cannot read capture", name, 0, "no stream"};
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (pcap == nullptr) {
    std::fclose(file);  // libpcap closes it only on success
    return open_error(name, errbuf);
  }
  return adopt(pcap, name);
}

PcapSource::Next PcapSource::fail(const std::string& what) {
  ++read_counters_.corrupt_records;
  error_ = name_ + ": record " + std::to_string(read_counters_.records + 1) + ": " + what +
           "; stopped there, keeping the " + std::to_string(read_counters_.records) +
           " records (" + std::to_string(decode_counters_.tcp_segments) +
           " TCP segments) read before it";
  done_ = true;
  return Next::error;
}

PcapSource::Next PcapSource::next(TcpSegment& out) {
  if (done_) return error_.empty() ? Next::end : Next::error;
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_.get(), &header, &data);
    if (rc == PCAP_ERROR_BREAK) {  // end of file
      done_ = true;
      return Next::end;
    }
    if (rc != 1) return fail(pcap_geterr(pcap_.get()));
    if (header->caplen > header->len) {
      return fail("captured length " + std::to_string(header->caplen) +
                  " exceeds the packet length " + std::to_string(header->len) +
                  " (corrupt record header)");
    }
    ++read_counters_.records;
    read_counters_.captured_bytes += header->caplen;
    if (header->caplen < header->len) ++read_counters_.snaplen_cut_records;
    const DecodeResult result = decode_packet(
        link_type_, timestamp_ns(*header), {data, header->caplen}, header->len, out);
    count(decode_counters_, result);
    if (result == DecodeResult::tcp) {
      if (out.truncated) ++decode_counters_.snaplen_cut_segments;
      return Next::segment;
    }
  }
}

}  // namespace difftrace::replay
