// Every capture in tests/fixtures/pcap (and below), sorted: what the kernel/host parity tests
// replay.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace difftrace::testing {

inline std::vector<std::string> fixture_captures() {
  namespace fs = std::filesystem;
  fs::path root = fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "pcap";
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.path().extension() == ".pcap") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace difftrace::testing
