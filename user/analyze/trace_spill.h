// The analysed traces of analyze's first pass, kept on disk for its second.
// The culprit needs every endpoint's median and the aggregates the routes'
// quantiles, known only once every trace is in; rather than read and build
// the traces again, the first pass writes each TraceResult (a few hundred
// bytes, against about 1 KB of JSON per span) to an unlinked temporary file
// in $TMPDIR (or /tmp) and the second reads them back in the same order.
// Memory stays bounded: one record in memory at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyze/analyzer.h"

namespace difftrace::analyze {

class TraceSpill {
 public:
  // Throws FatalError(kUsage) when no temporary file can be made.
  TraceSpill();
  // A trace with no root still carries its unlinked span count (t.unlinked).
  void put(const TraceResult& t, bool rooted);
  // Ends writing; next() then reads the traces back from the first.
  void rewind();
  // False after the last trace.
  bool next(TraceResult& t, bool& rooted);

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  void flush();
  void put_name(const std::string& s);
  std::unique_ptr<std::FILE, Closer> file_;
  // Services, names and reasons repeat from trace to trace: each is written once and then by
  // its number (as many as the input has distinct ones, like the medians per endpoint).
  std::unordered_map<std::string, std::uint32_t> names_;
  std::vector<std::string> names_read_;
  std::string out_;       // records not yet written
  std::vector<char> in_;  // the record being read
};

}  // namespace difftrace::analyze
