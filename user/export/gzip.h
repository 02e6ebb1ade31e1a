// gzip (RFC 1952) of a request body, for Content-Encoding: gzip.
#pragma once

#include <string>
#include <string_view>

namespace difftrace::exporters {

// The gzip member of data, at zlib's fastest level: bodies are spans with
// repetitive attribute keys, which compress well even so, and the exporter
// shares the CPU with what it traces. Throws std::runtime_error if zlib fails
// (out of memory).
std::string gzip_compress(std::string_view data);

// The inverse (tests, receivers): false when gz is not one whole gzip member.
bool gzip_decompress(std::string_view gz, std::string& out);

}  // namespace difftrace::exporters
