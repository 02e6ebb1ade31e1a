// The endpoint template of a request target (include/path_template.h, the
// code the kernel runs): /item/17?x=1 -> /item/{n}.
#pragma once

#include <string>
#include <string_view>

namespace difftrace::capture {

std::string path_template(std::string_view path);

}  // namespace difftrace::capture
