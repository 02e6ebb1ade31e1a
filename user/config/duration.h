// Durations as written in the config: "250us", "2ms", "1.5s", "100ns", "1m".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace difftrace::config {

// Nanoseconds, or nothing for text that is not a non-negative duration with
// a unit (a bare number is refused: "50" could mean anything).
std::optional<std::uint64_t> parse_duration(const std::string& text);

}  // namespace difftrace::config
