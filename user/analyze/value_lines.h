// Which lines of a trace file make one JSON value. Exports are JSON lines (one
// OTLP request or Zipkin array per line, read line by line as before), but
// Zipkin's API answers with one array, often pretty-printed over many lines.
// A line that does not parse on its own and leaves brackets open (outside a
// string: a raw newline cannot be inside one) starts a value of many lines,
// which ends where its brackets close. It is given up, counted as one bad
// line, when a later line parses on its own (the first was a truncated JSON
// line, not the start of a long value), when a line ends inside a string or
// closes more than it opened, when it grows past kMaxValueBytes, or at the end
// of the file; reading goes on from the line that gave it up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace difftrace::analyze {

constexpr std::size_t kMaxValueBytes = std::size_t{1} << 30;

class ValueLines {
 public:
  // parse(text) reads one value and says whether it was one; bad(first_line) is called for
  // each line or group of lines that was not.
  using Parse = std::function<bool(std::string_view)>;
  using Bad = std::function<void(std::uint64_t first_line)>;
  ValueLines(Parse parse, Bad bad) : parse_(std::move(parse)), bad_(std::move(bad)) {}

  // Each line of the file in turn (without its newline), numbered from 1.
  void line(std::string_view text, std::uint64_t number);
  // At the end of the file.
  void finish();
  // Values read (one per line, or one per group of lines), bad ones included.
  std::uint64_t values() const { return values_; }

 private:
  void give_up();
  Parse parse_;
  Bad bad_;
  std::string joined_;  // the lines of the value being gathered
  bool gathering_ = false;
  std::uint64_t first_ = 0;
  int depth_ = 0;
  std::uint64_t values_ = 0;
};

}  // namespace difftrace::analyze
