#include "error.h"

#include <cstring>

namespace difftrace {

std::string Error::message() const {
  std::string m = operation;
  if (!object.empty()) m += (m.empty() ? "" : " ") + object;
  if (err != 0) {
    m = errno_message(m, err);
    if (!hint.empty()) m += " (" + hint + ")";
  } else if (!hint.empty()) {
    m += (m.empty() ? "" : ": ") + hint;
  }
  return m;
}

std::string errno_message(const std::string& what, int err) {
  if (err < 0) err = -err;
  return what + ": " + std::strerror(err);
}

}  // namespace difftrace
