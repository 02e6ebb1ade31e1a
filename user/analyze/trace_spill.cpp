#include "analyze/trace_spill.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "error.h"

namespace difftrace::analyze {
namespace {

constexpr std::size_t kFlushAt = 1 << 20;

// Numbers as LEB128 varints (most are small), strings as their length and bytes.
void put_u64(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

// Reads one record; a short or malformed record is a bug of put (the file is ours), so it
// reads as zeros rather than past the end.
class Reader {
 public:
  Reader(const char* p, const char* end) : p_(p), end_(end) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; p_ < end_ && shift < 64; shift += 7) {
      const auto b = static_cast<unsigned char>(*p_++);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  void str(std::string& s) {
    std::size_t n = u64();
    if (n > static_cast<std::size_t>(end_ - p_)) n = static_cast<std::size_t>(end_ - p_);
    s.assign(p_, n);
    p_ += n;
  }
  void str(IdString& s) {
    std::size_t n = u64();
    if (n > static_cast<std::size_t>(end_ - p_)) n = static_cast<std::size_t>(end_ - p_);
    s = std::string_view(p_, n);
    p_ += n;
  }
  bool flag() { return u64() != 0; }
  // A string written by TraceSpill::put_name: its number, twice and plus one when it is new
  // (then its text follows).
  void name(std::vector<std::string>& table, std::string& s) {
    const std::uint64_t v = u64();
    if (v & 1) {
      str(s);
      table.push_back(s);
    } else if (v / 2 < table.size()) {
      s = table[v / 2];
    } else {
      s.clear();
    }
  }

 private:
  const char* p_;
  const char* end_;
};

std::FILE* make_temporary() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/difftrace-analyze.XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0)
    throw FatalError(ExitCode::kUsage,
                     errno_message("cannot make analyze's temporary file " + path +
                                       " (set TMPDIR to a writable directory)",
                                   errno));
  unlink(path.c_str());  // gone when closed, whatever happens
  std::FILE* f = fdopen(fd, "w+b");
  if (!f) {
    const int err = errno;
    close(fd);
    throw FatalError(ExitCode::kUsage, errno_message("cannot open " + path, err));
  }
  return f;
}

}  // namespace

TraceSpill::TraceSpill() : file_(make_temporary()) { out_.reserve(kFlushAt + 4096); }

void TraceSpill::put_name(const std::string& s) {
  auto [it, fresh] = names_.try_emplace(s, static_cast<std::uint32_t>(names_.size()));
  if (!fresh) {
    put_u64(out_, std::uint64_t{it->second} * 2);
    return;
  }
  put_u64(out_, 1);
  put_str(out_, s);
}

void TraceSpill::put(const TraceResult& t, bool rooted) {
  // A record: its length (4 bytes), then the fields.
  const std::size_t at = out_.size();
  out_.append(4, '\0');
  put_u64(out_, rooted);
  put_u64(out_, t.unlinked);
  if (rooted) {
    put_str(out_, t.trace_id);
    put_name(t.root_service);
    put_name(t.root_name);
    put_u64(out_, t.start_ns);
    put_u64(out_, t.duration_ns);
    put_u64(out_, t.anomalous);
    put_name(t.anomaly_reason);
    put_u64(out_, t.critical_path.size());
    for (const PathEntry& p : t.critical_path) {
      put_str(out_, p.span_id);
      put_name(p.service);
      put_name(p.name);
      put_u64(out_, static_cast<std::uint64_t>(p.kind));
      put_u64(out_, p.self_ns);
      put_u64(out_, p.async_wait_ns);
      put_u64(out_, static_cast<std::uint64_t>(p.depth));
      put_u64(out_, (p.estimated ? 1u : 0u) | (p.async ? 2u : 0u) | (p.error ? 4u : 0u));
    }
    for (std::uint64_t ns : t.breakdown.ns) put_u64(out_, ns);
    put_u64(out_, t.breakdown.estimated_ns);
    put_u64(out_, t.spans);
    put_u64(out_, t.skew_clamped);
    put_u64(out_, t.async);
    put_u64(out_, t.span_views.size());
    for (const SpanView& s : t.span_views) {
      put_str(out_, s.span_id);
      put_str(out_, s.parent_id);
      put_name(s.service);
      put_name(s.name);
      put_u64(out_, static_cast<std::uint64_t>(s.kind));
      put_u64(out_, s.start_ns);
      put_u64(out_, s.end_ns);
      put_u64(out_, (s.estimated ? 1u : 0u) | (s.anomalous ? 2u : 0u) | (s.on_path ? 4u : 0u));
    }
  }
  const auto len = static_cast<std::uint32_t>(out_.size() - at - 4);
  std::memcpy(out_.data() + at, &len, 4);
  if (out_.size() >= kFlushAt) flush();
}

void TraceSpill::flush() {
  if (!out_.empty() && std::fwrite(out_.data(), 1, out_.size(), file_.get()) != out_.size())
    throw FatalError(ExitCode::kUsage,
                     errno_message("cannot write analyze's temporary file (in $TMPDIR or /tmp)",
                                   errno));
  out_.clear();
}

void TraceSpill::rewind() {
  flush();
  if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), 0, SEEK_SET) != 0)
    throw FatalError(ExitCode::kUsage,
                     errno_message("cannot write analyze's temporary file (in $TMPDIR or /tmp)",
                                   errno));
}

bool TraceSpill::next(TraceResult& t, bool& rooted) {
  std::uint32_t len = 0;
  if (std::fread(&len, 1, 4, file_.get()) != 4) return false;
  in_.resize(len);
  if (std::fread(in_.data(), 1, len, file_.get()) != len)
    throw FatalError(ExitCode::kUsage, "analyze's temporary file was cut short");
  Reader r(in_.data(), in_.data() + len);
  rooted = r.flag();
  t.unlinked = static_cast<std::uint32_t>(r.u64());
  if (!rooted) return true;
  r.str(t.trace_id);
  r.name(names_read_, t.root_service);
  r.name(names_read_, t.root_name);
  t.start_ns = r.u64();
  t.duration_ns = r.u64();
  t.anomalous = r.flag();
  r.name(names_read_, t.anomaly_reason);
  t.critical_path.resize(r.u64());
  for (PathEntry& p : t.critical_path) {
    r.str(p.span_id);
    r.name(names_read_, p.service);
    r.name(names_read_, p.name);
    p.kind = static_cast<Kind>(r.u64());
    p.self_ns = r.u64();
    p.async_wait_ns = r.u64();
    p.depth = static_cast<int>(r.u64());
    const std::uint64_t f = r.u64();
    p.estimated = f & 1;
    p.async = f & 2;
    p.error = f & 4;
  }
  for (std::uint64_t& ns : t.breakdown.ns) ns = r.u64();
  t.breakdown.estimated_ns = r.u64();
  t.spans = static_cast<std::uint32_t>(r.u64());
  t.skew_clamped = static_cast<std::uint32_t>(r.u64());
  t.async = r.flag();
  t.span_views.resize(r.u64());
  for (SpanView& s : t.span_views) {
    r.str(s.span_id);
    r.str(s.parent_id);
    r.name(names_read_, s.service);
    r.name(names_read_, s.name);
    s.kind = static_cast<Kind>(r.u64());
    s.start_ns = r.u64();
    s.end_ns = r.u64();
    const std::uint64_t f = r.u64();
    s.estimated = f & 1;
    s.anomalous = f & 2;
    s.on_path = f & 4;
  }
  t.culprit.reset();
  return true;
}

}  // namespace difftrace::analyze
