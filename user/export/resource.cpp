#include "export/resource.h"

#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <tuple>

namespace difftrace::exporters {

const capture::ResourceAttributes& extra_resource(const capture::Span& s) {
  static const capture::ResourceAttributes none;
  return s.resource ? *s.resource : none;
}

std::vector<std::size_t> resource_order(const std::vector<capture::Span>& spans) {
  auto less = [&](std::size_t a, std::size_t b) {
    return std::tie(spans[a].pid, spans[a].service_name, extra_resource(spans[a])) <
           std::tie(spans[b].pid, spans[b].service_name, extra_resource(spans[b]));
  };
  std::vector<std::size_t> order(spans.size());
  // A batch holds few resources, in runs: find each span's resource among those seen
  // (the last one first), sort the resources, and place the spans by their resource's
  // rank in their own order. The same order as a stable sort of the spans, without
  // its comparisons of names and attributes between spans of one resource.
  constexpr std::size_t kFew = 64;
  std::vector<std::size_t> first;   // a span of each resource, in order of appearance
  std::vector<std::uint32_t> of(spans.size());  // each span's resource (index into first)
  for (std::size_t i = 0; i < spans.size(); i++) {
    std::size_t r = first.size();
    if (r && same_resource(spans[first[of[i - 1]]], spans[i])) {
      r = of[i - 1];
    } else {
      for (std::size_t k = 0; k < first.size(); k++)
        if (same_resource(spans[first[k]], spans[i])) {
          r = k;
          break;
        }
    }
    if (r == first.size()) {
      if (first.size() == kFew) {  // many processes in one batch: sort the spans
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), less);
        return order;
      }
      first.push_back(i);
    }
    of[i] = static_cast<std::uint32_t>(r);
  }
  std::vector<std::size_t> by_rank(first.size());
  std::iota(by_rank.begin(), by_rank.end(), 0);
  std::sort(by_rank.begin(), by_rank.end(),
            [&](std::size_t a, std::size_t b) { return less(first[a], first[b]); });
  std::vector<std::size_t> start(first.size() + 1, 0), rank(first.size());
  for (std::size_t k = 0; k < by_rank.size(); k++) rank[by_rank[k]] = k;
  for (std::size_t i = 0; i < spans.size(); i++) start[rank[of[i]] + 1]++;
  for (std::size_t k = 0; k < first.size(); k++) start[k + 1] += start[k];
  for (std::size_t i = 0; i < spans.size(); i++) order[start[rank[of[i]]]++] = i;
  return order;
}

std::string local_host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace difftrace::exporters
