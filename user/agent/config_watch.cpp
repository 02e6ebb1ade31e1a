#include "agent/config_watch.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <algorithm>
#include <filesystem>
#include <optional>

#include "error.h"

namespace difftrace::agent {
namespace {

sigset_t hangup_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void ConfigWatch::block_hangup() {
  // An ignored signal is discarded before it could wait in the mask (nohup ignores SIGHUP).
  signal(SIGHUP, SIG_DFL);
  sigset_t set = hangup_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ConfigWatch::ConfigWatch(const std::string& path, std::function<void(bool)> on_change)
    : on_change_(std::move(on_change)) {
  const std::filesystem::path p(path);
  name_ = p.filename().string();
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  auto fail = [&](const std::string& what) {
    const int err = errno;
    stop();
    throw FatalError(ExitCode::kEnvironment, errno_message(what, err));
  };
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) fail("inotify_init1 (to see " + path + " change)");
  if (inotify_add_watch(inotify_fd_, dir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY) < 0)
    fail("watching " + dir + " with inotify");
  sigset_t set = hangup_set();
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) fail("signalfd for SIGHUP");
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) fail("eventfd");
  thread_ = std::thread([this] { run(); });
}

ConfigWatch::~ConfigWatch() { stop(); }

void ConfigWatch::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) {
      // An eventfd write fails only on overflow: a stop is pending already.
    }
    thread_.join();
  }
  for (int* fd : {&inotify_fd_, &signal_fd_, &stop_fd_})
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
}

bool ConfigWatch::drain_inotify() {
  alignas(inotify_event) char buf[4096];
  bool relevant = false;
  for (;;) {
    const ssize_t n = read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) return relevant;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      const std::string name = ev->len ? ev->name : "";
      if (name == name_ || name.rfind("..", 0) == 0 || (ev->mask & IN_Q_OVERFLOW))
        relevant = true;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
}

void ConfigWatch::run() {
  using Clock = std::chrono::steady_clock;
  // Set by an event on the file: on_change runs once no other such event came for kQuiet.
  // Events on other files of the directory move nothing.
  std::optional<Clock::time_point> due;
  for (;;) {
    int timeout = -1;
    if (due)
      timeout = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(*due - Clock::now()).count()));
    pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    if (poll(fds, 3, timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents) {
      signalfd_siginfo si;
      while (read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      }
      due.reset();
      on_change_(true);
      continue;
    }
    if (fds[2].revents && drain_inotify()) due = Clock::now() + kQuiet;
    if (due && Clock::now() >= *due) {
      due.reset();
      on_change_(false);
    }
  }
}

}  // namespace difftrace::agent
