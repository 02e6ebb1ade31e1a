#include "replay/http1_framer.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace difftrace::replay {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == y; });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n'))
    v.remove_suffix(1);
  return v;
}

bool is_token_char(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

// "HTTP/1.0" or "HTTP/1.1"
bool is_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 7) == "HTTP/1." && (v[7] == '0' || v[7] == '1');
}

// Decimal digits only, below 2^60.
bool parse_length(std::string_view v, uint64_t& out) {
  if (v.empty() || v.size() > 18) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  out = n;
  return true;
}

struct Head {
  std::string_view method;  // requests
  int status = 0;           // responses
  bool has_length = false;
  uint64_t length = 0;
  bool has_te = false;
  bool chunked = false;     // "chunked" is the last transfer coding
};

// Reads a complete header block (start line, header lines, empty line). False: not framing.
bool parse_head(std::string_view block, bool requests, Head& h) {
  size_t eol = block.find('\n');
  const std::string_view start = trim(block.substr(0, eol));
  if (requests) {
    const size_t sp = start.find(' ');
    const size_t last = start.rfind(' ');
    if (sp == std::string_view::npos || sp == 0 || last <= sp + 1) return false;
    h.method = start.substr(0, sp);
    if (!std::all_of(h.method.begin(), h.method.end(), is_token_char)) return false;
    if (!is_version(start.substr(last + 1))) return false;
  } else {
    if (start.size() < 12 || !is_version(start.substr(0, 8)) || start[8] != ' ') return false;
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
      if (start[i] < '0' || start[i] > '9') return false;
      status = status * 10 + (start[i] - '0');
    }
    if (status < 100 || status > 599 || (start.size() > 12 && start[12] != ' ')) return false;
    h.status = status;
  }
  while (eol != std::string_view::npos && eol + 1 < block.size()) {
    const size_t from = eol + 1;
    eol = block.find('\n', from);
    const std::string_view line = block.substr(from, eol == std::string_view::npos ? eol : eol - from);
    if (line.empty() || line[0] == ' ' || line[0] == '\t') continue;  // end, or obs-fold
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      uint64_t n = 0;
      if (!parse_length(value, n) || (h.has_length && n != h.length)) return false;
      h.has_length = true;
      h.length = n;
    } else if (iequals(name, "transfer-encoding")) {
      h.has_te = true;
      const size_t comma = value.rfind(',');
      h.chunked = iequals(trim(comma == std::string_view::npos ? value : value.substr(comma + 1)),
                          "chunked");
    }
  }
  return true;
}

}  // namespace

void Http1Framer::restart() {
  req_ = {};
  resp_ = {};
  pending_.clear();
  lost_ = false;
}

bool Http1Framer::plausible_start(const Stream& s, bool requests) const {
  const std::string_view t = s.text;
  if (requests) {
    // A method token and a space within the first 20 bytes.
    const size_t n = std::min<size_t>(t.size(), 20);
    for (size_t i = 0; i < n; ++i) {
      if (t[i] == ' ') return i > 0;
      if (!is_token_char(t[i])) return false;
    }
    return t.size() < 20;
  }
  static constexpr std::string_view kPrefix = "HTTP/1.";
  const size_t n = std::min(t.size(), kPrefix.size());
  return t.substr(0, n) == kPrefix.substr(0, n);
}

size_t Http1Framer::take_headers(Stream& s, bool requests, std::span<const uint8_t> bytes,
                                 size_t pos) {
  while (pos < bytes.size()) {
    const auto* nl = static_cast<const uint8_t*>(
        std::memchr(bytes.data() + pos, '\n', bytes.size() - pos));
    const size_t end = nl ? static_cast<size_t>(nl - bytes.data()) + 1 : bytes.size();
    if (s.text.size() + (end - pos) > kMaxHeaderBlock) {
      lost_ = true;
      return pos;
    }
    const size_t line_start = s.text.rfind('\n') == std::string::npos ? 0 : s.text.rfind('\n') + 1;
    s.text.append(reinterpret_cast<const char*>(bytes.data() + pos), end - pos);
    pos = end;
    if (!plausible_start(s, requests)) {
      lost_ = true;
      return pos;
    }
    if (!nl) return pos;
    // The line that just ended: empty (or "\r") after the start line ends the block.
    const size_t len = s.text.size() - 1 - line_start;  // without the '\n'
    const bool empty = len == 0 || (len == 1 && s.text[line_start] == '\r');
    if (empty && line_start > 0) {
      after_headers(s, requests);
      return pos;
    }
    if (empty) {  // an empty line where the start line should be
      lost_ = true;
      return pos;
    }
  }
  return pos;
}

size_t Http1Framer::take_line(Stream& s, std::span<const uint8_t> bytes, size_t pos, bool& done) {
  const auto* nl =
      static_cast<const uint8_t*>(std::memchr(bytes.data() + pos, '\n', bytes.size() - pos));
  const size_t end = nl ? static_cast<size_t>(nl - bytes.data()) + 1 : bytes.size();
  done = nl != nullptr;
  if (s.text.size() + (end - pos) > kMaxLine) {
    lost_ = true;
    return pos;
  }
  s.text.append(reinterpret_cast<const char*>(bytes.data() + pos), end - pos);
  return end;
}

void Http1Framer::end_message(Stream& s, bool requests) {
  s.state = State::start;
  ended_ = true;
  ended_final_ = !requests && !s.interim;
  if (ended_final_ && !pending_.empty()) pending_.erase(pending_.begin());
}

void Http1Framer::after_headers(Stream& s, bool requests) {
  Head h;
  if (!parse_head(s.text, requests, h)) {
    lost_ = true;
    return;
  }
  s.remaining = 0;
  if (requests) {
    // A transfer coding other than chunked last leaves the length unknown (RFC 9112 6.3).
    if (h.has_te && !h.chunked) {
      lost_ = true;
      return;
    }
    pending_.push_back({h.method == "HEAD", h.method == "CONNECT"});
    if (h.chunked) {
      s.state = State::chunk_size;
      s.text.clear();
    } else if (h.has_length && h.length > 0) {
      s.state = State::body;
      s.remaining = h.length;
    } else {
      end_message(s, requests);
    }
    return;
  }
  const Pending answered = pending_.empty() ? Pending{} : pending_.front();
  // Past a protocol switch or a tunnel the bytes are not HTTP/1.x any more.
  if (h.status == 101 || (answered.connect && h.status / 100 == 2)) {
    lost_ = true;
    return;
  }
  s.interim = h.status < 200;
  if (s.interim || answered.head || h.status == 204 || h.status == 304) {
    end_message(s, requests);
  } else if (h.has_te && h.chunked) {
    s.state = State::chunk_size;
    s.text.clear();
  } else if (h.has_te) {
    s.state = State::until_close;
  } else if (h.has_length && h.length > 0) {
    s.state = State::body;
    s.remaining = h.length;
  } else if (h.has_length) {
    end_message(s, requests);
  } else {
    s.state = State::until_close;
  }
}

void Http1Framer::after_chunk_size(Stream& s) {
  const std::string_view line = s.text;
  uint64_t size = 0;
  size_t digits = 0;
  for (char c : line) {
    const char l = lower(c);
    int v = -1;
    if (l >= '0' && l <= '9') v = l - '0';
    if (l >= 'a' && l <= 'f') v = l - 'a' + 10;
    if (v < 0) break;
    if (++digits > 15) break;
    size = size * 16 + static_cast<uint64_t>(v);
  }
  const char after = digits < line.size() ? line[digits] : '\n';
  if (digits == 0 || digits > 15 ||
      (after != ';' && after != ' ' && after != '\t' && after != '\r' && after != '\n')) {
    lost_ = true;
    return;
  }
  s.text.clear();
  if (size == 0) {
    s.state = State::trailers;
  } else {
    s.state = State::chunk_data;
    s.remaining = size;
  }
}

void Http1Framer::split(bool requests, std::span<const uint8_t> bytes,
                        std::vector<FramePiece>& out) {
  const size_t n = bytes.size();
  if (n == 0) return;
  if (lost_) {
    out.push_back({.len = n, .unframed = true});
    return;
  }
  Stream& s = requests ? req_ : resp_;
  size_t pos = 0;
  size_t piece_start = 0;
  FramePiece cur;
  while (pos < n && !lost_) {
    ended_ = false;
    switch (s.state) {
      case State::start:
        if (bytes[pos] == '\r' || bytes[pos] == '\n') {  // stray line ends between messages
          ++pos;
          break;
        }
        if (pos > piece_start) {
          out.push_back({.len = pos - piece_start});
          piece_start = pos;
        }
        // A request while a response without a length runs: that response ends only at close,
        // so what follows cannot be paired.
        if (requests && resp_.state == State::until_close) {
          lost_ = true;
          break;
        }
        cur = {};
        cur.starts = true;
        cur.behind = requests && !pending_.empty();
        s.state = State::headers;
        s.text.clear();
        s.interim = false;
        break;
      case State::headers:
        pos = take_headers(s, requests, bytes, pos);
        break;
      case State::body:
      case State::chunk_data: {
        const uint64_t take = std::min<uint64_t>(s.remaining, n - pos);
        pos += take;
        s.remaining -= take;
        if (s.remaining == 0) {
          if (s.state == State::body) {
            end_message(s, requests);
          } else {
            s.state = State::chunk_data_end;
            s.text.clear();
          }
        }
        break;
      }
      case State::chunk_size:
      case State::chunk_data_end:
      case State::trailers: {
        bool done = false;
        pos = take_line(s, bytes, pos, done);
        if (!done || lost_) break;
        const bool empty = trim(s.text).empty();
        if (s.state == State::chunk_size) {
          after_chunk_size(s);
        } else if (s.state == State::chunk_data_end) {
          if (!empty) lost_ = true;
          s.state = State::chunk_size;
          s.text.clear();
        } else if (empty) {
          end_message(s, requests);
        } else {
          s.text.clear();  // a trailer field; more may follow
        }
        break;
      }
      case State::until_close:
        pos = n;
        break;
    }
    if (ended_ && !lost_) {
      cur.len = pos - piece_start;
      cur.ends = true;
      cur.final_response = ended_final_;
      out.push_back(cur);
      cur = {};
      piece_start = pos;
    }
  }
  if (lost_) {
    out.push_back({.len = n - piece_start, .unframed = true});
  } else if (piece_start < n) {
    cur.len = n - piece_start;
    out.push_back(cur);
  }
}

}  // namespace difftrace::replay
