#include "k8s/api_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "error.h"

namespace difftrace::k8s {
namespace {

constexpr std::size_t kMaxLine = 16u << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool readable(const std::string& path) { return std::ifstream(path).good(); }

// What one request gathers; the callbacks write here.
struct Transfer {
  const ApiClient::LineHandler* on_line = nullptr;  // null: collect the whole body
  const std::atomic<bool>* stop = nullptr;
  std::string buffer;
  bool stopped = false;
  bool too_long = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  t->buffer.append(data, len);
  if (!t->on_line) return t->buffer.size() > (64u << 20) ? 0 : len;
  std::size_t start = 0;
  for (auto nl = t->buffer.find('\n'); nl != std::string::npos; nl = t->buffer.find('\n', start)) {
    std::string_view line(t->buffer.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && !(*t->on_line)(line)) {
      t->stopped = true;
      return 0;
    }
  }
  t->buffer.erase(0, start);
  if (t->buffer.size() > kMaxLine) {
    t->too_long = true;
    return 0;
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->stop && t->stop->load()) {
    t->stopped = true;
    return 1;
  }
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

ApiClient::Response perform(const ApiConfig& cfg, const std::string& path, Transfer& t,
                            std::chrono::milliseconds timeout) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  ApiClient::Response r;
  std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(nullptr, "Accept: application/json"));
  if (!cfg.token_file.empty()) {
    std::ifstream f(cfg.token_file);
    std::stringstream s;
    s << f.rdbuf();
    std::string token = s.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (!f || token.empty()) {
      r.error = "cannot read the service account token " + cfg.token_file;
      return r;
    }
    headers.reset(curl_slist_append(headers.release(), ("Authorization: Bearer " + token).c_str()));
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    r.error = "curl_easy_init failed";
    return r;
  }
  char error[CURL_ERROR_SIZE] = {};
  const std::string url = cfg.url + path;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "difftrace");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (!cfg.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.stopped = t.stopped;
  if (t.too_long)
    r.error = "a watch event longer than 16 MiB";
  else if (rc == CURLE_OPERATION_TIMEDOUT && t.on_line && r.status == 200)
    ;  // a watch that lasted its time: an ordinary end, watched again from where it was
  else if (rc != CURLE_OK && !t.stopped)
    r.error = error[0] ? error : curl_easy_strerror(rc);
  r.body = std::move(t.buffer);
  return r;
}

}  // namespace

ApiConfig in_cluster_config(const std::string& url, const std::string& token_file,
                            const std::string& ca_file) {
  ApiConfig c;
  c.url = url;
  if (c.url.empty()) {
    const std::string host = env("KUBERNETES_SERVICE_HOST"), port = env("KUBERNETES_SERVICE_PORT");
    if (host.empty())
      throw FatalError(ExitCode::kUsage,
                       "no Kubernetes API: KUBERNETES_SERVICE_HOST is not set (not in a pod?); "
                       "give --k8s-api URL");
    // An IPv6 service address needs brackets in a URL.
    c.url = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
            (port.empty() ? "443" : port);
  }
  while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
  const std::string sa = kServiceAccountDir;
  c.token_file = !token_file.empty() ? token_file
                 : readable(sa + "/token") ? sa + "/token" : "";
  c.ca_file = !ca_file.empty() ? ca_file : readable(sa + "/ca.crt") ? sa + "/ca.crt" : "";
  return c;
}

ApiClient::ApiClient(ApiConfig config) : config_(std::move(config)) {}

ApiClient::Response ApiClient::get(const std::string& path) const {
  Transfer t;
  return perform(config_, path, t, config_.request_timeout);
}

ApiClient::Response ApiClient::watch(const std::string& path, const LineHandler& on_line,
                                     const std::atomic<bool>& stop,
                                     std::chrono::seconds max_time) const {
  Transfer t;
  t.on_line = &on_line;
  t.stop = &stop;
  return perform(config_, path, t, max_time);
}

std::string url_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace difftrace::k8s
