// utf8.h: which byte sequences are UTF-8, and the U+FFFD repair.
#include <catch2/catch.hpp>

#include "export/utf8.h"

namespace ex = difftrace::exporters;

TEST_CASE("UTF-8 validity per RFC 3629", "[utf8]") {
  CHECK(ex::is_valid_utf8(""));
  CHECK(ex::is_valid_utf8("/plain?a=1\x7f"));
  CHECK(ex::is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(ex::is_valid_utf8("\x80"));              // stray continuation
  CHECK_FALSE(ex::is_valid_utf8("caf\xc3"));           // cut mid-character
  CHECK_FALSE(ex::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(ex::is_valid_utf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(ex::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(ex::is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(ex::is_valid_utf8("\xff"));
}

TEST_CASE("each invalid byte becomes one U+FFFD, valid text is kept", "[utf8]") {
  CHECK(ex::valid_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(ex::valid_utf8("a\xff" "b") == "a\xef\xbf\xbd" "b");
  CHECK(ex::valid_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(ex::is_valid_utf8(ex::valid_utf8("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80")));
}
