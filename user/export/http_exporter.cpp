#include "export/http_exporter.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <memory>
#include <random>

#include "error.h"
#include "export/gzip.h"

namespace difftrace::exporters {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (!std::isprint(static_cast<unsigned char>(c))) c = ' ';
  return std::string(trim(s));
}

}  // namespace

// One libcurl easy handle with the options that stay the same for every POST
// (connections are kept alive across batches).
class CurlSession {
 public:
  struct Result {
    bool aborted = false;  // give_up was set during the transfer
    long status = 0;       // 0: no HTTP answer
    std::string error;     // why there was no answer
    std::string body;      // the answer's first 64 KiB
    std::optional<std::chrono::seconds> retry_after;
  };

  CurlSession(const std::string& url, const HttpEncoding& enc, const HttpExportOptions& opt,
              const std::atomic<bool>& give_up)
      : curl_(curl_easy_init()), give_up_(give_up) {
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    headers_ = curl_slist_append(headers_, ("Content-Type: " + enc.content_type).c_str());
    if (opt.gzip) headers_ = curl_slist_append(headers_, "Content-Encoding: gzip");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "difftrace");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.request_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlSession::on_body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &CurlSession::on_header);
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &CurlSession::on_progress);
    curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
  }
  ~CurlSession() {
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;

  Result post(const std::string& body) {
    Result r;
    result_ = &r;
    error_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    const CURLcode rc = curl_easy_perform(curl_);
    result_ = nullptr;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      r.aborted = true;
    } else if (rc != CURLE_OK) {
      r.error = error_[0] ? error_ : curl_easy_strerror(rc);
    } else {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    }
    return r;
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* r = static_cast<CurlSession*>(self)->result_;
    const std::size_t len = size * n;
    if (r && r->body.size() < 65536) r->body.append(data, std::min(len, 65536 - r->body.size()));
    return len;
  }
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* r = static_cast<CurlSession*>(self)->result_;
    const std::size_t len = size * n;
    std::string_view line(data, len);
    const auto colon = line.find(':');
    if (r && colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "retry-after")
      r->retry_after = parse_retry_after(line.substr(colon + 1));
    if (r && line.rfind("HTTP/", 0) == 0) r->retry_after.reset();  // a new answer (after 1xx)
    return len;
  }
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<CurlSession*>(self)->give_up_.load() ? 1 : 0;
  }

  CURL* curl_;
  curl_slist* headers_ = nullptr;
  const std::atomic<bool>& give_up_;
  Result* result_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
};

std::string check_http_url(const std::string& kind, const std::string& url,
                           const std::string& default_path) {
  const std::string usage = "--export " + kind + ":" + url + ": ";
  const std::string example = " (e.g. " + kind + ":http://localhost:" +
                              (kind == "zipkin" ? "9411" : "4318") + default_path + ")";
  if (url.empty()) throw FatalError(ExitCode::kUsage, "--export " + kind + ": needs a URL" + example);
  init_curl_once();
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw FatalError(ExitCode::kUsage, usage + "not a URL" + example);
  auto part = [&](CURLUPart what) {
    char* p = nullptr;
    std::string s;
    if (curl_url_get(u.get(), what, &p, 0) == CURLUE_OK && p) s = p;
    curl_free(p);
    return s;
  };
  const std::string scheme = lower(part(CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https")
    throw FatalError(ExitCode::kUsage, usage + "only http:// and https:// are supported" + example);
  if (part(CURLUPART_HOST).empty()) throw FatalError(ExitCode::kUsage, usage + "no host" + example);
  const std::string path = part(CURLUPART_PATH);
  if (!path.empty() && path != "/") return part(CURLUPART_URL);
  curl_url_set(u.get(), CURLUPART_PATH, default_path.c_str(), 0);
  return part(CURLUPART_URL);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  value = trim(value);
  std::uint32_t secs = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return std::chrono::seconds(secs);
}

bool retryable_status(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

HttpExporter::HttpExporter(std::string url, HttpEncoding encoding, HttpExportOptions options)
    : url_(std::move(url)),
      encoding_(std::move(encoding)),
      options_(options),
      counter_prefix_([&] {
        std::string p = encoding_.kind;
        std::replace(p.begin(), p.end(), '-', '_');
        return p + "_";
      }()) {
  init_curl_once();
  thread_ = std::thread([this] { run(); });
}

HttpExporter::~HttpExporter() {
  {
    std::lock_guard lk(mu_);  // under the lock: backoff() checks give_up_ under it
    stop_ = true;
    give_up_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (const auto lost = dropped_at_shutdown_.load())
    spdlog::debug("{} {}: {} spans dropped at shutdown", encoding_.kind, url_, lost);
}

void HttpExporter::export_spans(const std::vector<capture::Span>& spans) {
  if (spans.empty()) return;
  std::size_t dropped = 0;
  bool first_drop = false;
  {
    std::lock_guard lk(mu_);
    const std::size_t room =
        queue_.size() < options_.queue_spans ? options_.queue_spans - queue_.size() : 0;
    const std::size_t n = std::min(room, spans.size());
    if (queue_.empty() && n) oldest_ = Clock::now();
    queue_.insert(queue_.end(), spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(n));
    dropped = spans.size() - n;
    if (queue_.size() >= options_.batch_spans) wake_.notify_one();
  }
  if (dropped) first_drop = dropped_queue_full_.fetch_add(dropped) == 0;
  if (first_drop)
    spdlog::warn("{} {}: queue full ({} spans): dropping spans until the backend catches up",
                 encoding_.kind, url_, options_.queue_spans);
}

void HttpExporter::flush() {
  std::unique_lock lk(mu_);
  auto idle = [&] { return queue_.empty() && in_flight_ == 0; };
  if (!idle()) {
    ++flushing_;
    wake_.notify_all();
    if (!idle_.wait_for(lk, options_.flush_timeout, idle)) {
      // Give up: what is queued now and the batch in flight are dropped.
      dropped_at_shutdown_ += queue_.size();
      queue_.clear();
      give_up_ = true;
      wake_.notify_all();
      idle_.wait_for(lk, std::chrono::seconds(2), [&] { return in_flight_ == 0; });
      give_up_ = false;
      spdlog::warn("{} {}: not all spans delivered within {} ms; the rest were dropped",
                   encoding_.kind, url_, options_.flush_timeout.count());
    }
    --flushing_;
  }
  lk.unlock();
  const std::uint64_t dropped = dropped_queue_full_ + dropped_rejected_ + dropped_after_retries_ +
                                dropped_at_shutdown_;
  if (dropped)
    spdlog::warn(
        "{} {}: {} spans sent, {} dropped (queue full {}, refused {}, after retries {}, at "
        "shutdown {}); {} requests, {} retries, {} HTTP errors, {} connection errors",
        encoding_.kind, url_, sent_.load(), dropped, dropped_queue_full_.load(),
        dropped_rejected_.load(), dropped_after_retries_.load(), dropped_at_shutdown_.load(),
        requests_.load(), retries_.load(), http_errors_.load(), connect_errors_.load());
  else
    spdlog::info("{} {}: {} spans sent in {} requests ({} retries)", encoding_.kind, url_,
                 sent_.load(), requests_.load(), retries_.load());
}

std::vector<std::pair<std::string, std::uint64_t>> HttpExporter::counters() const {
  const std::string& p = counter_prefix_;
  return {{p + "spans_sent", sent_},
          {p + "dropped_queue_full", dropped_queue_full_},
          {p + "dropped_rejected", dropped_rejected_},
          {p + "dropped_after_retries", dropped_after_retries_},
          {p + "dropped_at_shutdown", dropped_at_shutdown_},
          {p + "retries", retries_},
          {p + "http_errors", http_errors_},
          {p + "connect_errors", connect_errors_},
          {p + "requests", requests_}};
}

void HttpExporter::run() {
  std::unique_ptr<CurlSession> curl;
  try {
    curl = std::make_unique<CurlSession>(url_, encoding_, options_, give_up_);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}; spans will be dropped", encoding_.kind, url_, e.what());
  }
  std::unique_lock lk(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stop_) break;
      wake_.wait(lk);
      continue;
    }
    // A batch is due when it is full, its oldest span has waited batch_delay,
    // or someone waits for it (flush, shutdown).
    const auto due = oldest_ + options_.batch_delay;
    if (queue_.size() < options_.batch_spans && !flushing_ && !stop_ && Clock::now() < due) {
      wake_.wait_until(lk, due);
      continue;
    }
    const std::size_t n = std::min(queue_.size(), options_.batch_spans);
    const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(n);
    std::vector<capture::Span> batch(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(end));
    queue_.erase(queue_.begin(), end);
    in_flight_ = n;
    lk.unlock();
    try {
      if (!curl) throw std::runtime_error("no libcurl handle");
      deliver(*curl, std::move(batch));
    } catch (const std::exception& e) {  // encoding or gzip failed (out of memory)
      dropped_after_retries_ += n;
      spdlog::error("{} {}: {} spans dropped: {}", encoding_.kind, url_, n, e.what());
    }
    lk.lock();
    in_flight_ = 0;
    idle_.notify_all();
  }
}

void HttpExporter::deliver(CurlSession& curl, std::vector<capture::Span> batch) {
  const std::size_t n = batch.size();
  if (give_up_) {
    dropped_at_shutdown_ += n;
    return;
  }
  std::string body = encoding_.encode(batch);
  if (options_.gzip) body = gzip_compress(body);
  std::minstd_rand jitter(static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  milliseconds wait = options_.first_backoff;
  for (int attempt = 1;; ++attempt) {
    CurlSession::Result r = curl.post(body);
    if (r.aborted) {
      dropped_at_shutdown_ += n;
      return;
    }
    ++requests_;
    if (r.status >= 200 && r.status < 300) {
      const std::uint64_t refused =
          encoding_.rejected_spans ? std::min<std::uint64_t>(n, encoding_.rejected_spans(r.body)) : 0;
      sent_ += n - refused;
      dropped_rejected_ += refused;
      if (refused)
        spdlog::warn("{} {}: the backend refused {} of {} spans: {}", encoding_.kind, url_, refused,
                     n, snippet(r.body));
      note_success();
      return;
    }
    std::string what;
    if (r.status == 0) {
      ++connect_errors_;
      what = r.error;
    } else {
      ++http_errors_;
      what = "HTTP " + std::to_string(r.status);
      if (const auto s = snippet(r.body); !s.empty()) what += " (" + s + ")";
      if (!retryable_status(r.status)) {
        dropped_rejected_ += n;
        spdlog::warn("{} {}: {}: {} spans dropped, not retried", encoding_.kind, url_, what, n);
        return;
      }
    }
    note_failure(what);
    if (attempt >= options_.max_attempts) {
      dropped_after_retries_ += n;
      spdlog::warn("{} {}: {} spans dropped after {} attempts (last: {})", encoding_.kind, url_, n,
                   attempt, what);
      return;
    }
    // Exponential backoff with up to 25% jitter, or what the backend asked for.
    milliseconds d = wait + milliseconds(jitter() % (wait.count() / 4 + 1));
    if (r.retry_after)
      d = std::min<milliseconds>(options_.max_backoff,
                                 std::chrono::duration_cast<milliseconds>(*r.retry_after));
    wait = std::min(wait * 2, options_.max_backoff);
    if (!backoff(d)) {
      dropped_at_shutdown_ += n;
      return;
    }
    ++retries_;
  }
}

bool HttpExporter::backoff(milliseconds d) {
  std::unique_lock lk(mu_);
  return !wake_.wait_for(lk, d, [&] { return give_up_.load(); });
}

std::size_t HttpExporter::queued_spans() const {
  std::lock_guard lock(mu_);
  return queue_.size() + in_flight_;
}

std::string HttpExporter::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void HttpExporter::note_failure(const std::string& what) {
  {
    std::lock_guard lock(mu_);
    failure_ = encoding_.kind + " " + url_ + ": " + what;
  }
  if (failing_) return;
  failing_ = true;
  spdlog::warn("{} {}: {}; retrying with backoff, queueing up to {} spans", encoding_.kind, url_,
               what, options_.queue_spans);
}

void HttpExporter::note_success() {
  if (!failing_) return;
  {
    std::lock_guard lock(mu_);
    failure_.clear();
  }
  failing_ = false;
  spdlog::info("{} {}: delivering again", encoding_.kind, url_);
}

}  // namespace difftrace::exporters
