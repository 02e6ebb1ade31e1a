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
  std::vector<std::size_t> order(spans.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(spans[a].pid, spans[a].service_name, extra_resource(spans[a])) <
           std::tie(spans[b].pid, spans[b].service_name, extra_resource(spans[b]));
  });
  return order;
}

std::string local_host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace difftrace::exporters
