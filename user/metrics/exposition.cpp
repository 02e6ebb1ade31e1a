#include "metrics/exposition.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace difftrace::metrics {
namespace {

bool name_char(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return colon_ok;
  return !first && c >= '0' && c <= '9';
}

void check_name(const std::string& name, bool label) {
  bool ok = !name.empty() && !(label && name.rfind("__", 0) == 0);
  for (std::size_t i = 0; ok && i < name.size(); i++) ok = name_char(name[i], i == 0, !label);
  if (!ok)
    throw std::invalid_argument(std::string(label ? "label" : "metric") + " name \"" + name +
                                "\" is not valid in the Prometheus format");
}

std::string escape(const std::string& v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string escape_label_value(const std::string& v) { return escape(v, true); }
std::string escape_help(const std::string& v) { return escape(v, false); }

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void Exposition::start(std::string name, const std::string& help, const char* type) {
  check_name(name, false);
  for (std::size_t i = 0; i < families_.size(); i++) {
    if (families_[i].name != name) continue;
    if (families_[i].type != type)
      throw std::invalid_argument("metric " + name + " started as two types");
    current_ = i;
    return;
  }
  families_.push_back({std::move(name), help, type, {}});
  current_ = families_.size() - 1;
}

void Exposition::counter(const std::string& name, const std::string& help) {
  const std::string suffix = "_total";
  const bool has = name.size() > suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  start(has ? name : name + suffix, help, "counter");
}

void Exposition::gauge(const std::string& name, const std::string& help) {
  start(name, help, "gauge");
}

void Exposition::add(const std::string& value, const Labels& labels) {
  if (families_.empty()) throw std::logic_error("a sample before any metric family");
  std::string s;
  if (!labels.empty()) {
    s += '{';
    for (std::size_t i = 0; i < labels.size(); i++) {
      check_name(labels[i].first, true);
      if (i) s += ',';
      s += labels[i].first + "=\"" + escape_label_value(labels[i].second) + '"';
    }
    s += '}';
  }
  s += ' ' + value;
  families_[current_].samples.push_back(std::move(s));
}

void Exposition::sample(double value, const Labels& labels) { add(format_value(value), labels); }

void Exposition::sample(std::uint64_t value, const Labels& labels) {
  add(std::to_string(value), labels);
}

std::string Exposition::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + ' ' + escape_help(f.help) + '\n';
    out += "# TYPE " + f.name + ' ' + f.type + '\n';
    for (const auto& s : f.samples) out += f.name + s + '\n';
  }
  return out;
}

}  // namespace difftrace::metrics
