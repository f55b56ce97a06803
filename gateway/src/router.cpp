#include "bazaar/gateway/router.hpp"

namespace bazaar::gateway {

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string::npos)
      j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

void router::add(std::string method, const std::string& pattern, access who, handler run) {
  routes_.push_back(route{std::move(method), split(pattern), who, std::move(run)});
}

router::match router::find(const std::string& method, const std::string& path,
                           std::vector<std::string>& params) const {
  auto segments = split(path);
  match result;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size())
      continue;
    std::vector<std::string> captured;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i) {
      if (is_param(r.segments[i]))
        captured.push_back(segments[i]);
      else
        same = r.segments[i] == segments[i];
    }
    if (!same)
      continue;
    if (r.method == method) {
      result.found = &r;
      result.method_mismatch = false;
      params = std::move(captured);
      return result;
    }
    result.method_mismatch = true;
    if (!result.allowed.empty())
      result.allowed += ", ";
    result.allowed += r.method;
  }
  return result;
}

} // namespace bazaar::gateway
