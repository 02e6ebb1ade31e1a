// Generates a large pcap of realistic HTTP/1.1 traffic for the replay throughput bench
// (scripts/bench/replay_throughput.sh), and says exactly what it holds.
//
//   build/gen-http-pcap OUT.pcap [--bytes N] [--seed S] [--conns N] [--pipeline PERCENT]
//                       [--truth OUT.json]
//
// Ethernet/IPv4/TCP with valid checksums, nanosecond timestamps, MSS 1448 segments, the
// client acknowledging every second segment. Connections (N open at a time, default 200)
// each open with a handshake, carry 1-60 keep-alive exchanges and close with FINs; --pipeline
// percent (default 2) of the exchanges send a batch of 2-4 pipelined requests in one segment. The request mix
// (several servers and endpoints, methods, statuses, JSON and static bodies, W3C trace
// headers) has small and large bodies (up to 1 MiB), chunked responses written chunk by chunk,
// HEAD, 204 and 304. Every request is answered, so a replay must give exactly `requests`
// spans. Deterministic for a seed. Writes until the file holds N bytes (default 1.1e9), then
// finishes the open connections.
//
// --truth writes the ground truth as JSON: requests, by method and status, pipelined requests
// (those sent before the previous response ended), chunked responses, connections, packets,
// bytes.
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr size_t kMss = 1448;
constexpr uint64_t kStartNs = 1'790'000'000'000'000'000ull;

struct Args {
  std::string out;
  std::string truth;
  uint64_t bytes = 1'100'000'000;
  uint64_t seed = 1;
  size_t conns = 200;
  unsigned pipeline_percent = 2;  // exchanges that send a pipelined batch
};

struct Truth {
  uint64_t requests = 0;
  uint64_t pipelined = 0;
  uint64_t chunked = 0;
  uint64_t connections = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;  // file bytes
  std::map<std::string, uint64_t> by_method;
  std::map<int, uint64_t> by_status;
  std::map<std::string, uint64_t> by_endpoint;
};

// One's complement sum over 16-bit words.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

class Writer {
 public:
  Writer(const std::string& path, Truth& truth) : truth_(truth) {
    pcap_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    dumper_ = pcap_dump_open(pcap_, path.c_str());
    if (!dumper_) {
      std::fprintf(stderr, "gen-http-pcap: %s: %s\n", path.c_str(), pcap_geterr(pcap_));
      std::exit(2);
    }
  }
  ~Writer() {
    pcap_dump_close(dumper_);
    pcap_close(pcap_);
  }

  // One TCP segment from (sip, sport) to (dip, dport).
  void segment(uint64_t ts_ns, uint32_t sip, uint16_t sport, uint32_t dip, uint16_t dport,
               uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t* payload, size_t len) {
    uint8_t* p = buf_;
    // Ethernet
    static const uint8_t kMacs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
    std::memcpy(p, kMacs, 12);
    p[12] = 0x08;
    p[13] = 0x00;
    uint8_t* ip = p + 14;
    const size_t ip_len = 20 + 20 + len;
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2] = static_cast<uint8_t>(ip_len >> 8);
    ip[3] = static_cast<uint8_t>(ip_len);
    ip[4] = static_cast<uint8_t>(ip_id_ >> 8);
    ip[5] = static_cast<uint8_t>(ip_id_);
    ++ip_id_;
    ip[6] = 0x40;  // DF
    ip[7] = 0;
    ip[8] = 64;
    ip[9] = 6;
    ip[10] = ip[11] = 0;
    put32(ip + 12, sip);
    put32(ip + 16, dip);
    const uint16_t ipsum = fold(sum16(ip, 20, 0));
    ip[10] = static_cast<uint8_t>(ipsum >> 8);
    ip[11] = static_cast<uint8_t>(ipsum);
    uint8_t* tcp = ip + 20;
    tcp[0] = static_cast<uint8_t>(sport >> 8);
    tcp[1] = static_cast<uint8_t>(sport);
    tcp[2] = static_cast<uint8_t>(dport >> 8);
    tcp[3] = static_cast<uint8_t>(dport);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xff;  // window 65535
    tcp[15] = 0xff;
    tcp[16] = tcp[17] = 0;
    tcp[18] = tcp[19] = 0;
    std::memcpy(tcp + 20, payload, len);
    // Pseudo header + segment.
    uint8_t pseudo[12];
    put32(pseudo, sip);
    put32(pseudo + 4, dip);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = static_cast<uint8_t>((20 + len) >> 8);
    pseudo[11] = static_cast<uint8_t>(20 + len);
    const uint16_t tsum = fold(sum16(tcp, 20 + len, sum16(pseudo, 12, 0)));
    tcp[16] = static_cast<uint8_t>(tsum >> 8);
    tcp[17] = static_cast<uint8_t>(tsum);

    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(ts_ns % 1'000'000'000);  // nanoseconds
    h.caplen = h.len = static_cast<bpf_u_int32>(14 + ip_len);
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, buf_);
    truth_.packets++;
    truth_.bytes += 16 + h.caplen;
  }

 private:
  static void put32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  }

  Truth& truth_;
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  uint16_t ip_id_ = 1;
  uint8_t buf_[14 + 20 + 20 + 65536];
};

// A response's bytes, written by the server as one or more writes (each a run of segments).
struct Pending {
  std::vector<std::string> writes;
};

struct Conn {
  uint32_t cip = 0, sip = 0;
  uint16_t cport = 0, sport = 0;
  uint32_t cseq = 0, sseq = 0;
  int state = 0;            // 0 handshake, 1 request next, 2 responding, 3 close
  int exchanges_left = 0;
  std::deque<Pending> responses;  // in the order the requests were sent
  size_t write_index = 0;   // of responses.front()
  size_t write_off = 0;     // bytes of that write already sent
  int unacked = 0;          // server segments since the client's last ACK
};

class Generator {
 public:
  Generator(const Args& args, Writer& w, Truth& truth)
      : args_(args), w_(w), truth_(truth), rng_(args.seed) {
    // Body text: JSON-ish and static-asset-ish bytes, sliced at random offsets.
    std::string alphabet =
        "{\"id\":12345,\"name\":\"item\",\"tags\":[\"a\",\"b\"],\"price\":19.99},"
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n";
    body_.resize(2 << 20);
    for (size_t i = 0; i < body_.size(); ++i) body_[i] = alphabet[rng_() % alphabet.size()];
  }

  void run() {
    std::vector<Conn> active;
    bool opening = true;
    while (true) {
      if (opening && truth_.bytes >= args_.bytes) opening = false;
      while (opening && active.size() < args_.conns) active.push_back(new_conn());
      if (active.empty()) break;
      const size_t i = rng_() % active.size();
      if (!step(active[i])) {
        active[i] = std::move(active.back());
        active.pop_back();
      }
    }
  }

 private:
  uint64_t tick() {
    now_ += 1000 + rng_() % 40000;  // 1-41 us between packets on the link
    return now_;
  }
  size_t uniform(size_t lo, size_t hi) { return lo + rng_() % (hi - lo + 1); }
  bool chance(unsigned percent) { return rng_() % 100 < percent; }
  std::string body(size_t n) { return body_.substr(rng_() % (body_.size() - n - 1), n); }
  std::string hex(size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s(n, '0');
    for (auto& c : s) c = d[rng_() % 16];
    return s;
  }

  Conn new_conn() {
    Conn c;
    c.cip = 0x0a010000u | static_cast<uint32_t>(uniform(1, 4000));
    static const uint32_t kServers[] = {0x0a00000au, 0x0a00000bu, 0x0a00000cu};
    static const uint16_t kPorts[] = {80, 8080, 80};
    const size_t s = rng_() % 3;
    c.sip = kServers[s];
    c.sport = kPorts[s];
    c.cport = static_cast<uint16_t>(next_port_);
    next_port_ = next_port_ >= 60999 ? 32768 : next_port_ + 1;
    c.cseq = static_cast<uint32_t>(rng_());
    c.sseq = static_cast<uint32_t>(rng_());
    c.exchanges_left = static_cast<int>(uniform(1, 60));
    truth_.connections++;
    return c;
  }

  void c2s(Conn& c, uint8_t flags, const std::string& data = {}) {
    w_.segment(tick(), c.cip, c.cport, c.sip, c.sport, c.cseq, c.sseq, flags,
               reinterpret_cast<const uint8_t*>(data.data()), data.size());
    c.cseq += static_cast<uint32_t>(data.size());
  }
  void s2c(Conn& c, uint8_t flags, const char* data = nullptr, size_t n = 0) {
    w_.segment(tick(), c.sip, c.sport, c.cip, c.cport, c.sseq, c.cseq, flags,
               reinterpret_cast<const uint8_t*>(data), n);
    c.sseq += static_cast<uint32_t>(n);
  }

  // One request and its response (queued on c). Returns the request's bytes.
  std::string exchange(Conn& c) {
    std::string method = "GET", target, endpoint, req_body, resp_body, ctype = "application/json";
    int status = 200;
    bool chunked = false, head = false;
    const unsigned r = static_cast<unsigned>(rng_() % 100);
    if (r < 30) {
      endpoint = "GET /api/users/{n}";
      target = "/api/users/" + std::to_string(uniform(1, 100000));
      if (chance(6)) status = 404;
      resp_body = body(uniform(150, 1500));
    } else if (r < 42) {
      endpoint = "GET /api/orders";
      target = "/api/orders?page=" + std::to_string(uniform(1, 50));
      chunked = chance(50);
      resp_body = body(uniform(2000, 30000));
    } else if (r < 52) {
      endpoint = "POST /api/orders";
      method = "POST";
      target = "/api/orders";
      req_body = body(uniform(100, 3000));
      status = chance(5) ? 500 : chance(5) ? 400 : 201;
      resp_body = body(uniform(50, 400));
    } else if (r < 68) {
      endpoint = "GET /static/*";
      target = "/static/app." + std::to_string(uniform(1, 40)) + (chance(50) ? ".js" : ".css");
      ctype = "application/javascript";
      if (chance(30)) {
        status = 304;
      } else {
        resp_body = body(chance(5) ? uniform(200000, 1000000) : uniform(5000, 80000));
      }
    } else if (r < 76) {
      endpoint = "GET /healthz";
      target = "/healthz";
      resp_body = "ok";
      ctype = "text/plain";
    } else if (r < 82) {
      endpoint = "PUT /api/items/{n}";
      method = "PUT";
      target = "/api/items/" + std::to_string(uniform(1, 5000));
      req_body = body(uniform(50, 800));
      status = 204;
    } else if (r < 85) {
      endpoint = "DELETE /api/items/{n}";
      method = "DELETE";
      target = "/api/items/" + std::to_string(uniform(1, 5000));
      status = chance(30) ? 404 : 204;
      if (status == 404) resp_body = body(60);
    } else if (r < 91) {
      endpoint = "GET /api/stream/{n}";
      target = "/api/stream/" + std::to_string(uniform(1, 999));
      chunked = true;
      resp_body = body(chance(10) ? uniform(100000, 500000) : uniform(10000, 60000));
    } else if (r < 98) {
      endpoint = "GET /api/search";
      target = "/api/search?q=" + hex(uniform(3, 12));
      if (chance(4)) {
        status = 503;
        resp_body = "{\"error\":\"overloaded\"}";
      } else {
        chunked = chance(70);
        resp_body = body(uniform(500, 12000));
      }
    } else {
      endpoint = "HEAD /static/*";
      method = "HEAD";
      head = true;
      target = "/static/logo.png";
      ctype = "image/png";
      resp_body = body(uniform(1000, 50000));  // its length is announced, not sent
    }

    std::string req = method + " " + target + " HTTP/1.1\r\nHost: svc" +
                      std::to_string(c.sip & 0xff) + ".example:" + std::to_string(c.sport) +
                      "\r\nUser-Agent: difftrace-bench/1.0\r\nAccept: */*\r\n";
    if (chance(60))
      req += "traceparent: 00-" + hex(32) + "-" + hex(16) + "-01\r\n";
    if (!req_body.empty())
      req += "Content-Type: application/json\r\nContent-Length: " +
             std::to_string(req_body.size()) + "\r\n";
    req += "\r\n" + req_body;

    static const std::map<int, const char*> kReason = {
        {200, "OK"},          {201, "Created"},   {204, "No Content"},
        {304, "Not Modified"}, {400, "Bad Request"}, {404, "Not Found"},
        {500, "Internal Server Error"}, {503, "Service Unavailable"}};
    std::string head_text = "HTTP/1.1 " + std::to_string(status) + " " + kReason.at(status) +
                            "\r\nServer: bench\r\nDate: Sun, 22 Nov 2026 06:00:00 GMT\r\n";
    Pending p;
    if (status == 204 || status == 304) {
      p.writes.push_back(head_text + "\r\n");
    } else if (chunked && !head) {
      head_text += "Content-Type: " + ctype + "\r\nTransfer-Encoding: chunked\r\n\r\n";
      p.writes.push_back(head_text);
      size_t off = 0;
      while (off < resp_body.size()) {
        const size_t n = std::min(resp_body.size() - off, uniform(1000, 16384));
        char size_line[24];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        p.writes.push_back(size_line + resp_body.substr(off, n) + "\r\n");
        off += n;
      }
      p.writes.push_back("0\r\n\r\n");
      truth_.chunked++;
    } else {
      head_text += "Content-Type: " + ctype + "\r\nContent-Length: " +
                   std::to_string(resp_body.size()) + "\r\n\r\n";
      p.writes.push_back(head ? head_text : head_text + resp_body);
    }
    c.responses.push_back(std::move(p));
    truth_.requests++;
    truth_.by_method[method]++;
    truth_.by_status[status]++;
    truth_.by_endpoint[endpoint]++;
    return req;
  }

  // Sends the request(s) of the next exchange.
  void send_requests(Conn& c) {
    std::string wire = exchange(c);
    --c.exchanges_left;
    if (chance(args_.pipeline_percent)) {  // a pipelined batch: more requests, same segment(s)
      const size_t more = uniform(1, 3);
      for (size_t k = 0; k < more && c.exchanges_left > 0; ++k) {
        wire += exchange(c);
        --c.exchanges_left;
        truth_.pipelined++;
      }
    }
    for (size_t off = 0; off < wire.size(); off += kMss)
      c2s(c, 0x18, wire.substr(off, kMss));  // PSH|ACK
    s2c(c, 0x10);                            // the server's ACK
  }

  // Sends up to two segments of the server's pending output. False when nothing is left.
  bool respond(Conn& c) {
    for (int k = 0; k < 2 && !c.responses.empty(); ++k) {
      Pending& p = c.responses.front();
      const std::string& wr = p.writes[c.write_index];
      const size_t n = std::min(kMss, wr.size() - c.write_off);
      s2c(c, 0x18, wr.data() + c.write_off, n);
      c.write_off += n;
      if (c.write_off == wr.size()) {
        c.write_off = 0;
        if (++c.write_index == p.writes.size()) {
          c.write_index = 0;
          c.responses.pop_front();
        }
      }
      if (++c.unacked == 2) {
        c2s(c, 0x10);
        c.unacked = 0;
      }
    }
    if (c.responses.empty() && c.unacked) {
      c2s(c, 0x10);
      c.unacked = 0;
    }
    return !c.responses.empty();
  }

  // One step of a connection; false when it has closed.
  bool step(Conn& c) {
    switch (c.state) {
      case 0:
        c2s(c, 0x02);  // SYN
        c.cseq++;
        w_.segment(tick(), c.sip, c.sport, c.cip, c.cport, c.sseq, c.cseq, 0x12, nullptr, 0);
        c.sseq++;
        c2s(c, 0x10);
        c.state = 1;
        return true;
      case 1:
        send_requests(c);
        c.state = 2;
        return true;
      case 2:
        if (!respond(c)) c.state = c.exchanges_left > 0 ? 1 : 3;
        return true;
      default:
        c2s(c, 0x11);  // FIN|ACK
        c.cseq++;
        s2c(c, 0x11);
        c.sseq++;
        c2s(c, 0x10);
        return false;
    }
  }

  const Args& args_;
  Writer& w_;
  Truth& truth_;
  std::mt19937_64 rng_;
  std::string body_;
  uint64_t now_ = kStartNs;
  uint32_t next_port_ = 32768;
};

void write_truth(const std::string& path, const Truth& t, const Args& a, double secs) {
  std::ofstream f(path);
  f << "{\n  \"requests\": " << t.requests << ",\n  \"pipelined_requests\": " << t.pipelined
    << ",\n  \"chunked_responses\": " << t.chunked << ",\n  \"connections\": " << t.connections
    << ",\n  \"packets\": " << t.packets << ",\n  \"file_bytes\": " << t.bytes + 24
    << ",\n  \"seed\": " << a.seed << ",\n  \"target_bytes\": " << a.bytes
    << ",\n  \"concurrent_connections\": " << a.conns
    << ",\n  \"pipeline_percent\": " << a.pipeline_percent << ",\n  \"generate_seconds\": " << secs
    << ",\n  \"by_method\": {";
  const char* sep = "";
  for (const auto& [k, v] : t.by_method) {
    f << sep << "\"" << k << "\": " << v;
    sep = ", ";
  }
  f << "},\n  \"by_status\": {";
  sep = "";
  for (const auto& [k, v] : t.by_status) {
    f << sep << "\"" << k << "\": " << v;
    sep = ", ";
  }
  f << "},\n  \"by_endpoint\": {";
  sep = "";
  for (const auto& [k, v] : t.by_endpoint) {
    f << sep << "\"" << k << "\": " << v;
    sep = ", ";
  }
  f << "}\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen-http-pcap: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--bytes") a.bytes = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--seed") a.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--conns") a.conns = std::max<size_t>(1, std::strtoull(value().c_str(), nullptr, 10));
    else if (arg == "--truth") a.truth = value();
    else if (arg == "--pipeline") a.pipeline_percent = static_cast<unsigned>(std::strtoul(value().c_str(), nullptr, 10));
    else if (!arg.empty() && arg[0] != '-' && a.out.empty()) a.out = arg;
    else {
      std::fprintf(stderr,
                   "usage: gen-http-pcap OUT.pcap [--bytes N] [--seed S] [--conns N] "
                   "[--pipeline PERCENT] [--truth OUT.json]\n");
      return 2;
    }
  }
  if (a.out.empty()) {
    std::fprintf(stderr, "gen-http-pcap: no output file given\n");
    return 2;
  }
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Truth truth;
  {
    Writer w(a.out, truth);
    Generator g(a, w, truth);
    g.run();
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  if (!a.truth.empty()) write_truth(a.truth, truth, a, secs);
  std::printf("gen-http-pcap: %s: %llu requests (%llu pipelined, %llu chunked responses) on "
              "%llu connections, %llu packets, %llu bytes in %.1f s\n",
              a.out.c_str(), static_cast<unsigned long long>(truth.requests),
              static_cast<unsigned long long>(truth.pipelined),
              static_cast<unsigned long long>(truth.chunked),
              static_cast<unsigned long long>(truth.connections),
              static_cast<unsigned long long>(truth.packets),
              static_cast<unsigned long long>(truth.bytes + 24), secs);
  return 0;
}
