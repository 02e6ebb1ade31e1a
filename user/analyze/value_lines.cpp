#include "analyze/value_lines.h"

namespace difftrace::analyze {
namespace {

struct Balance {
  int depth = 0;           // open brackets at the end of the line
  bool in_string = false;  // the line ended inside a string
  bool underflow = false;  // it closed a bracket it did not open
};

// The brackets a line opens and closes, from `depth` open before it; strings skipped.
Balance balance(std::string_view line, int depth) {
  Balance b{depth, false, false};
  for (std::size_t i = 0; i < line.size(); i++) {
    const char c = line[i];
    if (c == '"') {
      for (i++; i < line.size() && line[i] != '"'; i++)
        if (line[i] == '\\') i++;
      if (i >= line.size()) {
        b.in_string = true;
        return b;
      }
    } else if (c == '{' || c == '[') {
      b.depth++;
    } else if ((c == '}' || c == ']') && --b.depth < 0) {
      b.underflow = true;
      return b;
    }
  }
  return b;
}

bool opens_value(std::string_view line) {
  const std::size_t i = line.find_first_not_of(" \t");
  return i != std::string_view::npos && (line[i] == '{' || line[i] == '[');
}

}  // namespace

void ValueLines::give_up() {
  bad_(first_);
  gathering_ = false;
  joined_.clear();
}

void ValueLines::line(std::string_view text, std::uint64_t number) {
  if (gathering_) {
    const Balance alone = opens_value(text) ? balance(text, 0) : Balance{1, false, false};
    if (alone.depth == 0 && !alone.in_string && !alone.underflow && parse_(text)) {
      give_up();  // the value never was one: this line is a value of its own
      values_++;
      return;
    }
    const Balance b = balance(text, depth_);
    if (b.in_string || b.underflow || joined_.size() + text.size() + 1 > kMaxValueBytes) {
      give_up();
      line(text, number);  // read afresh
      return;
    }
    joined_ += '\n';
    joined_.append(text);
    depth_ = b.depth;
    if (depth_ == 0) {
      if (!parse_(joined_)) bad_(first_);
      gathering_ = false;
      joined_.clear();
    }
    return;
  }
  values_++;
  if (parse_(text)) return;
  const Balance b = opens_value(text) ? balance(text, 0) : Balance{};
  if (b.depth > 0 && !b.in_string && !b.underflow) {
    gathering_ = true;
    first_ = number;
    depth_ = b.depth;
    joined_.assign(text);
    return;
  }
  bad_(number);
}

void ValueLines::finish() {
  if (gathering_) give_up();
}

}  // namespace difftrace::analyze
