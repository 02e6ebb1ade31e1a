// Error::message (user/error.h): one line, in the shape the messages had before there was a type
// for them, from whichever of operation, object, errno and hint are set.
#include <catch2/catch.hpp>

#include <cerrno>

#include "error.h"
#include "result.h"

using namespace difftrace;

TEST_CASE("Error::message renders operation, object, errno and hint as one line", "[error]") {
  CHECK(Error{"cannot read capture", "x.pcap", ENOENT, "expected a pcap or pcapng file"}
            .message() ==
        "cannot read capture x.pcap: No such file or directory (expected a pcap or pcapng file)");
  // errno's sign does not matter: libbpf returns it negated.
  CHECK(Error{"could not write a threshold into", "thresholds", -E2BIG, ""}.message() ==
        "could not write a threshold into thresholds: Argument list too long");
  // Without an errno the hint is the cause.
  CHECK(Error{"cannot read capture", "x.pcap", 0, "no stream"}.message() ==
        "cannot read capture x.pcap: no stream");
  CHECK(Error{"", "x.pcap", 0, "unsupported link type 147"}.message() ==
        "x.pcap: unsupported link type 147");
  CHECK(Error{"reloading", "", 0, ""}.message() == "reloading");
}

TEST_CASE("Result holds a value or an Error", "[error]") {
  Result<int> good = 3;
  REQUIRE(good.ok());
  CHECK(good.value() == 3);
  Result<int> bad = Error{"parsing", "n", EINVAL, ""};
  REQUIRE_FALSE(bad);
  CHECK(bad.error().err == EINVAL);
  CHECK(bad.error().message() == "parsing n: Invalid argument");
}
