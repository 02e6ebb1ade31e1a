#include "replay/http2_session.h"

namespace difftrace::replay {

Http2Session::Http2Session(OnExchange on_exchange) : on_exchange_(std::move(on_exchange)) {
  callbacks_.on_fragment = [this](const h2_fragment& f, std::span<const std::uint8_t> b) {
    on_fragment(f, b);
  };
  callbacks_.on_done = [this](const h2_stream& st) { on_done(st); };
}

bool Http2Session::on_data(int dir, std::uint64_t ts_ns, std::span<const std::uint8_t> bytes) {
  // A captured segment entered and left "the syscall" at once.
  return !(http2_feed_io(conn_, dir, ts_ns, ts_ns, bytes, callbacks_) & DT_FEED_INVALID);
}

void Http2Session::on_close(std::uint64_t ts_ns) {
  counters_.streams_untracked += conn_.streams_untracked;
  http2_close(conn_, ts_ns, callbacks_);
}

bool Http2Session::on_gap(int dir) {
  if (!h2_lost(&conn_, dir)) return false;
  counters_.gaps_resynced++;
  hpack_[dir & 1].forget_entries();
  for (const h2_stream& st : conn_.streams)
    if (st.id) streams_[st.id].capture_gap = true;
  return true;
}

void Http2Session::on_fragment(const h2_fragment& f, std::span<const std::uint8_t> bytes) {
  std::string& open = open_[f.dir & 1];
  open.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!f.last) return;
  const auto* data = reinterpret_cast<const std::uint8_t*>(open.data());
  HeaderBlock block = hpack_[f.dir & 1].decode({data, open.size()});
  open.clear();
  counters_.blocks++;
  counters_.fields_unresolved += block.unresolved;
  if (block.malformed) counters_.blocks_malformed++;
  on_block(f, std::move(block));
}

void Http2Session::on_block(const h2_fragment& f, HeaderBlock&& block) {
  if (f.kind == H2_BLOCK_UNTRACKED || f.kind == H2_BLOCK_REQ_TRAILERS) return;  // decoded: in step
  Http2Exchange& x = streams_[f.stream];
  x.unresolved += block.unresolved;
  if (f.kind == H2_BLOCK_REQUEST) {
    x.request = std::move(block);
    return;
  }
  // A response header block has a :status, trailers never do: by that, not by their order, so
  // that a block lost in a capture gap cannot make trailers pass for the response.
  const std::string* status = block.find(":status");
  if (!status && (x.has_response || x.capture_gap)) {
    x.trailers = std::move(block);
    x.has_trailers = true;
    return;
  }
  if (status && status->size() == 3 && (*status)[0] == '1') return;  // interim: the final follows
  x.response = std::move(block);  // without :status only when it was unresolved
  x.has_response = true;
}

void Http2Session::on_done(const h2_stream& st) {
  auto it = streams_.find(st.id);
  Http2Exchange x;
  if (it != streams_.end()) {
    x = std::move(it->second);
    streams_.erase(it);
  }
  x.stream = st;
  x.role = conn_.role;
  on_exchange_(x);
}

}  // namespace difftrace::replay
