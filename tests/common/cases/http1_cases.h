// Table-driven HTTP/1.x boundary cases: raw wire bytes as a connection's
// syscalls saw them, and the exchanges that must come out. Run on the host
// (tests/unit) and in the kernel through BPF_PROG_TEST_RUN (tests/bpf).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dt/chunk_build.h"
#include "protocols/http1/http1.h"

namespace difftrace::testing {

struct Step {
  int dir = DT_DIR_INGRESS;  // DT_DIR_INGRESS: the traced process read it
  std::string data;            // empty with close=true: the connection closed
  bool close = false;
};

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

// One step's input, as a syscall hands it to the boundary logic.
struct StepInput {
  dt_window win{};
  std::uint32_t win_len = 0;
  std::uint64_t total_len = 0;
  std::uint8_t tail[DT_TAIL]{};
  std::uint32_t tail_len = 0;
};
StepInput make_input(const std::string& data);
// The chunk the boundary logic reads beside in.win (direction and times unset).
dt_chunk chunk_of(const StepInput& in);

// Something that runs http1_feed/http1_close: the host code or the kernel.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual int feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0,
                   std::uint64_t t1, http_exchange& done) = 0;
  virtual int close(http_exchange& x, std::uint64_t t, http_exchange& done) = 0;
};

class HostDriver : public Driver {
 public:
  int feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0, std::uint64_t t1,
           http_exchange& done) override;
  int close(http_exchange& x, std::uint64_t t, http_exchange& done) override;
};

struct CaseResult {
  std::vector<http_exchange> finished;
  std::vector<http_exchange> states;  // connection state after every step
  std::vector<int> results;           // what every step answered (enum dt_feed_result bits)
  int ignored = 0;
};

CaseResult run_case(const Case& c, Driver& d);
// Empty when the result matches the case; else what differs, readable.
std::string check_case(const Case& c, const CaseResult& r);

}  // namespace difftrace::testing
