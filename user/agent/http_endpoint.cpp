#include "agent/http_endpoint.h"

#include <httplib.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>

#include "error.h"

namespace difftrace::agent {
namespace {

// A scrape, a liveness and a readiness probe at once, with room for one more: each
// keep-alive connection holds a thread while it lasts.
constexpr std::size_t kThreads = 4;
constexpr time_t kKeepAliveSeconds = 5;

[[noreturn]] void bad_listen(const std::string& listen, const std::string& why) {
  throw FatalError(ExitCode::kUsage, "--listen " + listen + ": " + why);
}

}  // namespace

std::pair<std::string, int> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) bad_listen(listen, "want HOST:PORT, [V6]:PORT or :PORT");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    bad_listen(listen, "an IPv6 address goes in brackets: [::]:9464");
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos)
    port = std::stoi(port_text);
  if (port < 0 || port > 65535) bad_listen(listen, "the port is not a number in 0..65535");
  return {host, port};
}

HttpEndpoint::HttpEndpoint(const std::string& listen, std::map<std::string, Route> routes)
    : server_(std::make_unique<httplib::Server>()) {
  const auto [host, port] = parse_listen(listen);
  server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server_->set_keep_alive_timeout(kKeepAliveSeconds);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second agent on the
  // node would share the port (and the scrapes) instead of being refused.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  for (auto& [path, route] : routes) {
    server_->Get(path, [route = std::move(route)](const httplib::Request&, httplib::Response& res) {
      HttpAnswer a;
      try {
        a = route();
      } catch (const std::exception& e) {
        a = {500, "text/plain; charset=utf-8", std::string("error: ") + e.what() + "\n"};
      }
      res.status = a.status;
      res.set_content(a.body, a.content_type.c_str());
    });
  }
  if (port == 0)
    port_ = server_->bind_to_any_port(host);
  else
    port_ = server_->bind_to_port(host, port) ? port : -1;
  if (port_ <= 0)
    bad_listen(listen, "cannot listen there (the port is in use, or the address is not this "
                       "host's)");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("serving /metrics, /healthz and /readyz on {}:{}", host, port_);
}

HttpEndpoint::~HttpEndpoint() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace difftrace::agent
