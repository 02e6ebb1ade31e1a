// A scripted HTTP/1.1 server on 127.0.0.1 for the exporter tests: it records
// each request (headers, body) and answers from a script of responses
// (status, extra headers, body), the last one repeating. Keep-alive, one
// connection at a time, Content-Length bodies only: what libcurl sends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace difftrace::testing {

class HttpTestServer {
 public:
  struct Response {
    int status = 200;
    std::string headers;  // extra lines, each ending in \r\n
    std::string body;
  };
  struct Request {
    std::string method, target;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
  };

  explicit HttpTestServer(std::vector<Response> script) : script_(std::move(script)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("test server: cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpTestServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }

 private:
  // Waits for fd to be readable, checking stop_ every 20 ms.
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_)
      if (poll(&p, 1, 20) > 0) return true;
    return false;
  }

  void serve() {
    while (readable(fd_)) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string buf;
      while (handle_one(c, buf)) {
      }
      close(c);
    }
  }

  // Reads one request from c (buf keeps bytes past it) and answers it.
  bool handle_one(int c, std::string& buf) {
    auto fill = [&] {
      char tmp[65536];
      if (!readable(c)) return false;
      ssize_t n = recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    };
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return false;
    Request r;
    std::size_t pos = buf.find("\r\n");
    const std::string first = buf.substr(0, pos);
    r.method = first.substr(0, first.find(' '));
    r.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    while (pos < end) {
      std::size_t next = buf.find("\r\n", pos + 2);
      std::string line = buf.substr(pos + 2, next - pos - 2);
      pos = next;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    const std::size_t length =
        r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf.size() < end + 4 + length)
      if (!fill()) return false;
    r.body = buf.substr(end + 4, length);
    buf.erase(0, end + 4 + length);

    Response resp;
    {
      std::lock_guard lk(mu_);
      resp = script_[std::min(requests_.size(), script_.size() - 1)];
      requests_.push_back(std::move(r));
    }
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\nContent-Length: " +
                      std::to_string(resp.body.size()) + "\r\n" + resp.headers + "\r\n" + resp.body;
    return send(c, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
  }

  std::vector<Response> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace difftrace::testing
