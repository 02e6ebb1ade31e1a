#include "common/cases/protocol_cases.h"

#include <stdexcept>

namespace difftrace::testing {

StepInput make_input(const std::string& data) {
  StepInput in;
  dt_io io{};
  dt_chunk ch{};
  io.data = reinterpret_cast<std::uintptr_t>(data.data());
  io.len = data.size();
  io.layout = DT_IO_BUF;
  if (dt_chunk_window(&io, &in.win, &ch) != 0) throw std::logic_error("host chunk window");
  dt_chunk_tail(&io, &in.win, &ch);
  in.total_len = ch.total_len;
  in.win_len = ch.win_len;
  in.tail_len = ch.tail_len;
  std::memcpy(in.tail, ch.tail, DT_TAIL);
  return in;
}

dt_chunk chunk_of(const StepInput& in) {
  dt_chunk ch{};
  ch.win_len = in.win_len;
  ch.total_len = in.total_len;
  ch.tail_len = in.tail_len;
  std::memcpy(ch.tail, in.tail, DT_TAIL);
  return ch;
}

}  // namespace difftrace::testing
