// Table-driven HTTP/1.x boundary cases: raw wire bytes as a connection's
// syscalls saw them, and the exchanges that must come out. Run on the host
// (tests/unit) and in the kernel through BPF_PROG_TEST_RUN (tests/bpf), by the
// generic drivers of protocol_cases.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cases/protocol_cases.h"
#include "protocols/http1/http1.h"

namespace difftrace::testing {

struct Expected {
  int role = HTTP_ROLE_SERVER;
  std::string method;
  std::string path;
  int status = 0;
  int end_reason = HTTP_END_COMPLETE;
  int ctx_kind = DT_CTX_NONE;
  std::string trace_id;  // hex text as the kernel copies it
  std::string parent_id;
  // A server's response's traceresponse (resp_ctx): trace id and the server's span id.
  int resp_ctx_kind = DT_CTX_NONE;
  std::string resp_trace_id;
  std::string resp_span_id;
  std::uint64_t req_bytes = 0;   // 0: not checked
  std::uint64_t resp_bytes = 0;  // 0: not checked
  bool hdr_lost = false;
};

struct Case {
  std::string name;
  std::vector<Step> steps;
  std::vector<Expected> expected;  // in the order they finish
  int ignored = 0;                 // steps reported as not HTTP
};

const std::vector<Case>& http_cases();

// Request targets and the endpoint templates they must give (path_template.h).
struct TemplateCase {
  std::string path;
  std::string want;
};
const std::vector<TemplateCase>& path_template_cases();
std::string host_path_template(const std::string& path);

// Runs http1_feed/http1_close: the host code (below) or the kernel (tests/bpf/kernel_driver.h).
using Driver = ProtocolDriver<http_exchange>;

class HostDriver : public Driver {
 public:
  int feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0, std::uint64_t t1,
           http_exchange& done) override;
  int close(http_exchange& x, std::uint64_t t, http_exchange& done) override;
};

using CaseResult = StepsResult<http_exchange>;

CaseResult run_case(const Case& c, Driver& d);
// Empty when the result matches the case; else what differs, readable.
std::string check_case(const Case& c, const CaseResult& r);

}  // namespace difftrace::testing
