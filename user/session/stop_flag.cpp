#include "session/stop_flag.h"

#include <signal.h>

namespace difftrace::session {
namespace {

std::atomic<StopFlag*> g_signalled{nullptr};

void on_signal(int) {
  if (StopFlag* flag = g_signalled.load()) flag->request_stop();
}

}  // namespace

StopFlag::~StopFlag() {
  StopFlag* self = this;
  g_signalled.compare_exchange_strong(self, nullptr);
}

void StopFlag::stop_on_signals() {
  g_signalled = this;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let poll return at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace difftrace::session
