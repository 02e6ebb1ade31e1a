#include "error.h"

#include <cstring>

namespace difftrace {

std::string errno_message(const std::string& what, int err) {
  if (err < 0) err = -err;
  return what + ": " + std::strerror(err);
}

}  // namespace difftrace
