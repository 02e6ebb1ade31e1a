// The endpoint template of a request target (include/path_template.h, the
// code the kernel runs): /item/17?x=1 -> /item/{n}.
#pragma once

#include <string>
#include <string_view>

namespace difftrace::capture {

std::string path_template(std::string_view path);
// The same through include/path_template.h's C code as the kernel runs it (path_template
// is its port to locals, ~4x cheaper): for the tests that compare the two.
std::string path_template_kernel_code(std::string_view path);

}  // namespace difftrace::capture
