// The agent's HTTP endpoint (--listen ADDR): a few GET routes answered by callbacks, served by
// cpp-httplib from threads of its own, so that a slow scraper never holds up the capture.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace difftrace::agent {

struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Route = std::function<HttpAnswer()>;

// "HOST:PORT", "[V6]:PORT" or ":PORT" (every address) into host and port; throws
// FatalError(kUsage) naming --listen otherwise.
std::pair<std::string, int> parse_listen(const std::string& listen);

class HttpEndpoint {
 public:
  // Binds now (FatalError(kUsage) when the address cannot be had, e.g. in use), then serves
  // GET path -> route until destroyed; other paths get 404.
  HttpEndpoint(const std::string& listen, std::map<std::string, Route> routes);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace difftrace::agent
