// ServiceRegistry over the host's filter maps and a made-up process table: which pids the
// filter's service_pids names, as processes come, go and have their pids reused.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>

#include "protocols/http1/message.h"  // the spans' methods and end reasons
#include "filter/host_filter_store.h"
#include "filter/process_view.h"
#include "filter/service_registry.h"
#include "service_registry_fixture.h"

using namespace difftrace;
using difftrace::testing::FakeProcessView;
using difftrace::testing::service_of;

namespace {

config::Service service(const char* name, config::Role role) {
  config::Service s;
  s.name = name;
  s.role = role;
  return s;
}

}  // namespace

TEST_CASE("issue15 item6: a reused pid does not inherit a service's role",
          "[service_registry][issue15]") {
  config::Config cfg;
  cfg.services.push_back(service("api", config::Role::kPlatform));
  cfg.services.back().match.exes = {"api-server"};
  cfg.services.push_back(service("worker", config::Role::kFunction));
  cfg.services.back().match.listen_ports = {9000};
  FakeProcessView procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);

  procs.run(4242, 100, "/usr/bin/api-server");
  services.publish(store);
  REQUIRE(service_of(store, 4242) == 1);

  SECTION("gone, then its pid another process") {
    procs.exit(4242);
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);  // the entry is removed

    procs.run(4242, 900, "/usr/bin/bash");
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);
  }
  SECTION("its pid reused between two rescans") {
    procs.exit(4242);
    procs.run(4242, 900, "/usr/bin/bash");
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);
  }
  SECTION("its pid reused by a process of another service") {
    procs.exit(4242);
    procs.run(4242, 900, "/usr/bin/python3", {9000});
    services.rescan(store);
    CHECK(service_of(store, 4242) == 2);
  }
  SECTION("the same process stays") {
    services.rescan(store);
    CHECK(service_of(store, 4242) == 1);
  }
}

TEST_CASE("issue15 item6: a config pid names the process it had at start, not later ones",
          "[service_registry][issue15]") {
  config::Config cfg;
  cfg.services.push_back(service("api", config::Role::kPlatform));
  cfg.services.back().match.pids = {4242, 5555};
  FakeProcessView procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);

  procs.run(4242, 100, "/usr/bin/api-server");
  services.publish(store);
  REQUIRE(service_of(store, 4242) == 1);
  CHECK(service_of(store, 5555) == 0);  // not running: names no process

  SECTION("gone, then its pid another process") {
    procs.exit(4242);
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);

    procs.run(4242, 900, "/usr/bin/api-server");
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);
  }
  SECTION("its pid reused between two rescans") {
    procs.exit(4242);
    procs.run(4242, 900, "/usr/bin/api-server");
    services.rescan(store);
    CHECK(service_of(store, 4242) == 0);
  }
  SECTION("a pid that was not running at start, running later") {
    procs.run(5555, 900, "/usr/bin/api-server");
    services.rescan(store);
    CHECK(service_of(store, 5555) == 0);
  }
  SECTION("the same process stays") {
    services.rescan(store);
    CHECK(service_of(store, 4242) == 1);
  }
}

TEST_CASE("a comm names the process: threads that name themselves otherwise are its service's",
          "[service_registry]") {
  config::Config cfg;
  cfg.services.push_back(service("fn-grpc", config::Role::kFunction));
  cfg.services.back().match.comms = {"fn-grpc"};
  FakeProcessView procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  procs.run(4242, 100, "/usr/bin/python3.11", {}, "fn-grpc");
  procs.run(4343, 100, "/usr/bin/python3.11", {}, "other");
  services.publish(store);
  // service_of's events carry no comm (grpc-core's "default-executo" thread, say): by pid.
  CHECK(service_of(store, 4242) == 1);
  CHECK(service_of(store, 4343) == 0);
  procs.exit(4242);
  services.rescan(store);
  CHECK(service_of(store, 4242) == 0);
}

TEST_CASE("ProcProcessView: this process's start time, exe and listen port; an exited child",
          "[service_registry]") {
  filter::ProcProcessView view;
  const auto self = static_cast<std::uint32_t>(::getpid());
  auto start = view.start_time(self);
  REQUIRE(start);
  CHECK(*start > 0);

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::uint16_t port = ntohs(addr.sin_port);

  auto procs = view.processes(true);
  auto me = std::find_if(procs.begin(), procs.end(), [&](const auto& p) { return p.pid == self; });
  REQUIRE(me != procs.end());
  CHECK(me->start_time == *start);
  CHECK(me->exe == std::filesystem::read_symlink("/proc/self/exe").string());
  CHECK(me->listen_ports.count(port) == 1);
  ::close(listener);

  // A comm with spaces and parentheses does not shift the fields; once reaped, no process.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::prctl(PR_SET_NAME, "a) b (c");
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  auto child_start = view.start_time(static_cast<std::uint32_t>(child));
  auto all = view.processes(false);
  auto kid = std::find_if(all.begin(), all.end(),
                          [&](const auto& p) { return p.pid == static_cast<std::uint32_t>(child); });
  REQUIRE(kid != all.end());
  CHECK(kid->comm == "a) b (c");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  REQUIRE(child_start);
  CHECK(*child_start >= *start);
  CHECK_FALSE(view.start_time(static_cast<std::uint32_t>(child)));
}

TEST_CASE("issue12: service ids are by name and stay across apply()",
          "[service_registry][issue12]") {
  config::Config cfg;
  for (const char* name : {"api", "worker", "db"}) {
    cfg.services.push_back(service(name, config::Role::kPlatform));
    cfg.services.back().match.exes = {std::string(name) + "-bin"};
  }
  FakeProcessView procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  // The first config numbers its services in order, as before there were reloads.
  CHECK(services.id_of(0) == 1);
  CHECK(services.id_of(1) == 2);
  CHECK(services.id_of(2) == 3);
  procs.run(100, 1, "/usr/bin/api-bin");
  procs.run(200, 1, "/usr/bin/worker-bin");
  procs.run(300, 1, "/usr/bin/db-bin");
  services.publish(store);
  REQUIRE(service_of(store, 100) == 1);
  REQUIRE(service_of(store, 200) == 2);
  REQUIRE(service_of(store, 300) == 3);

  // Reordered, worker removed, cache added.
  cfg.services = {cfg.services[2], service("cache", config::Role::kPlatform), cfg.services[0]};
  cfg.services[1].match.exes = {"cache-bin"};
  procs.run(400, 1, "/usr/bin/cache-bin");
  const auto removed = services.apply(store);
  services.publish(store);
  CHECK(removed == std::vector<std::uint16_t>{2});
  CHECK(services.id_of(0) == 3);  // db
  CHECK(services.id_of(1) == 4);  // cache: a fresh id, not worker's
  CHECK(services.id_of(2) == 1);  // api
  CHECK(services.service(3)->name == "db");
  CHECK(services.service(1)->name == "api");
  CHECK(services.service(2) == nullptr);
  CHECK(service_of(store, 100) == 1);
  CHECK(service_of(store, 300) == 3);
  CHECK(service_of(store, 400) == 4);
  CHECK(service_of(store, 200) == 0);  // the removed service's process lost its entry

  // A name that comes back is the same service: its id again.
  cfg.services.push_back(service("worker", config::Role::kPlatform));
  cfg.services.back().match.exes = {"worker-bin"};
  CHECK(services.apply(store).empty());
  services.publish(store);
  CHECK(services.id_of(3) == 2);
  CHECK(service_of(store, 200) == 2);
}

TEST_CASE("issue12: apply() rewrites a kept service's role and drops comms no longer matched",
          "[service_registry][issue12]") {
  config::Config cfg;
  cfg.services.push_back(service("api", config::Role::kFunction));
  cfg.services.back().match.exes = {"api-bin"};
  cfg.services.push_back(service("gw", config::Role::kPlatform));
  cfg.services.back().match.comms = {"gateway"};
  FakeProcessView procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  procs.run(100, 1, "/usr/bin/api-bin");
  services.publish(store);

  // The service the filter finds, and whether it reported the span for a function's.
  auto role_of = [&](std::uint32_t pid, const char* comm) {
    dt_span_event e = testing::server_event(comm, "/", 1'000'000, 200, nullptr, pid);
    const bool function = store.filter(e) == DT_OUT_REPORT && e.reason == DT_REASON_FUNCTION;
    return std::make_pair(static_cast<std::uint16_t>(e.service), function);
  };
  using ServiceRole = std::pair<std::uint16_t, bool>;
  REQUIRE(role_of(100, "api") == ServiceRole{1, true});
  REQUIRE(role_of(7, "gateway").first == 2);

  cfg.services[0].role = config::Role::kPlatform;
  cfg.services[1].match.comms = {"edge"};
  services.apply(store);
  services.publish(store);
  CHECK(role_of(100, "api") == ServiceRole{1, false});
  CHECK(role_of(7, "gateway").first == 0);
  CHECK(role_of(7, "edge").first == 2);
}
