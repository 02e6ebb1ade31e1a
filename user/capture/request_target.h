// A request target as spans are exported (OpenTelemetry HTTP conventions): url.path without
// the query, url.query without its '?' and, unless the config keeps them, with every value
// replaced by REDACTED (keys kept: tokens and signatures travel in query values), and
// url.template, the endpoint's template (include/path_template.h). The span name is
// `{method} {url.template}`: one name per endpoint, whatever ids the paths carry.
#pragma once

#include <string>
#include <string_view>

#include "capture/span.h"

namespace difftrace::capture {

// "a=1&b&c=" -> "a=REDACTED&b&c=": a value is what follows a key's '=' up to the next '&'.
std::string redact_query_values(std::string_view query);

// Splits span.path (the target as captured) into path, query and template, once: a span
// whose path holds no query any more keeps the query it has, one with a template (of its
// path: whole or split, they have the same) keeps its template.
void split_target(Span& span, bool keep_query_values);

// `{method} {url.template}`; the template made from the path for a span not split yet.
std::string span_name(const Span& span);

// The path with its (redacted) query, as the console shows it.
std::string target_text(const Span& span);

}  // namespace difftrace::capture
