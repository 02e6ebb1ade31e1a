// UTF-8 checks for exported strings. Paths, methods and names come off the
// wire as bytes (and a path cut at its 127-byte limit can end mid-character);
// protobuf string fields and JSON must be valid UTF-8, or a receiver refuses
// the whole request. Invalid bytes become U+FFFD, each on its own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace difftrace::exporters {

// Length (1-4) of the valid UTF-8 sequence that starts s[i], 0 if none does
// (a stray continuation byte, a truncated or overlong sequence, a surrogate).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

bool is_valid_utf8(std::string_view s);

// s with every byte that starts no valid sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace difftrace::exporters
