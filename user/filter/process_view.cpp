#include "filter/process_view.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace difftrace::filter {
namespace {

// An open /proc/PID directory. Files read through it belong to the process it
// was opened for: once that process is gone they fail, even when a new
// process has its pid, so a process's fields are never mixed with another's.
class ProcDir {
 public:
  explicit ProcDir(const std::string& pid)
      : fd_(::open(("/proc/" + pid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~ProcDir() {
    if (fd_ >= 0) ::close(fd_);
  }
  ProcDir(const ProcDir&) = delete;
  ProcDir& operator=(const ProcDir&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string read_link_at(int dir, const char* name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dir, name, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// What stat ("pid (comm) state ppid ...") says of a process: its start time (field 22) and
// its name (field 2, its main thread's comm). comm may hold spaces and parentheses, so
// fields are counted from the last ')'.
struct StatFields {
  std::uint64_t start_time = 0;
  std::string comm;
};

std::optional<StatFields> stat_at(int dir) {
  if (dir < 0) return std::nullopt;
  int fd = ::openat(dir, "stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  const char* p = nullptr;
  for (ssize_t i = n; i-- > 0;)
    if (buf[i] == ')') {
      p = buf + i + 1;
      break;
    }
  const char* open = std::strchr(buf, '(');
  if (!p || !open || open >= p) return std::nullopt;
  StatFields f;
  f.comm.assign(open + 1, p - 1);
  for (int field = 3; field < 22; field++) {  // p is before field 3
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
    if (!*p) return std::nullopt;
  }
  char* end = nullptr;
  f.start_time = std::strtoull(p, &end, 10);
  if (end == p) return std::nullopt;
  return f;
}

// Inodes of listening TCP sockets by local port, from /proc/net/tcp{,6}.
std::map<std::uint64_t, std::uint16_t> listening_inodes() {
  std::map<std::uint64_t, std::uint16_t> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout;
      std::uint64_t inode = 0;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state != "0A" || !inode) continue;  // TCP_LISTEN
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      out[inode] = static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    }
  }
  return out;
}

// Ports the process of dir listens on, among the listening inodes.
std::set<std::uint16_t> ports_at(int dir, const std::map<std::uint64_t, std::uint16_t>& inodes) {
  std::set<std::uint16_t> ports;
  int fd_dir = ::openat(dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_dir < 0) return ports;
  DIR* d = ::fdopendir(fd_dir);
  if (!d) {
    ::close(fd_dir);
    return ports;
  }
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string target = read_link_at(fd_dir, e->d_name);
    unsigned long long inode = 0;
    if (std::sscanf(target.c_str(), "socket:[%llu]", &inode) != 1) continue;
    auto it = inodes.find(inode);
    if (it != inodes.end()) ports.insert(it->second);
  }
  ::closedir(d);  // closes fd_dir
  return ports;
}

bool is_pid(const char* name) {
  if (!*name) return false;
  for (const char* c = name; *c; c++)
    if (*c < '0' || *c > '9') return false;
  return true;
}

}  // namespace

std::optional<std::uint64_t> ProcProcessView::start_time(std::uint32_t pid) const {
  ProcDir dir(std::to_string(pid));
  auto f = stat_at(dir.fd());
  if (!f) return std::nullopt;
  return f->start_time;
}

std::vector<ProcessInfo> ProcProcessView::processes(bool want_ports) const {
  const auto inodes = want_ports ? listening_inodes() : std::map<std::uint64_t, std::uint16_t>{};
  std::vector<ProcessInfo> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (const dirent* e = ::readdir(proc)) {
    if (!is_pid(e->d_name)) continue;
    ProcDir dir(e->d_name);
    ProcessInfo p;
    p.pid = static_cast<std::uint32_t>(std::strtoul(e->d_name, nullptr, 10));
    auto stat = stat_at(dir.fd());
    if (!stat) continue;  // gone already
    p.start_time = stat->start_time;
    p.comm = std::move(stat->comm);
    p.exe = read_link_at(dir.fd(), "exe");
    if (want_ports) p.listen_ports = ports_at(dir.fd(), inodes);
    out.push_back(std::move(p));
  }
  ::closedir(proc);
  return out;
}

}  // namespace difftrace::filter
