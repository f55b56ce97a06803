#include "bazaar/gateway/router.hpp"

#include <stdexcept>
#include <string_view>

namespace bazaar::gateway {

namespace {

/// The most segments a route pattern may have; a longer path matches no route.
constexpr std::size_t max_segments = 32;

/// Calls `segment` with each non-empty segment of `path` between slashes; stops early (and
/// returns false) once it returns false.
template <typename Segment>
bool for_each_segment(std::string_view path, Segment&& segment) {
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos)
      j = path.size();
    if (!segment(path.substr(i, j - i)))
      return false;
    i = j;
  }
  return true;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

std::string route::pattern() const {
  std::string out;
  for (const auto& s : segments)
    out += '/' + s;
  return out.empty() ? "/" : out;
}

void router::add(std::string method, const std::string& pattern, access who, handler run) {
  std::vector<std::string> segments;
  for_each_segment(pattern, [&segments](std::string_view s) {
    segments.emplace_back(s);
    return true;
  });
  if (segments.size() > max_segments)
    throw std::invalid_argument("route pattern with more than 32 segments: " + pattern);
  routes_.push_back(route{std::move(method), std::move(segments), who, std::move(run)});
}

router::match router::find(const std::string& method, const std::string& path,
                           std::vector<std::string>& params) const {
  // The path's segments as views into it: nothing is copied until a route matches.
  std::string_view segments[max_segments];
  std::size_t count = 0;
  bool fits = for_each_segment(path, [&](std::string_view s) {
    if (count == max_segments)
      return false;
    segments[count++] = s;
    return true;
  });
  match result;
  if (!fits)
    return result; // longer than any route
  for (const auto& r : routes_) {
    if (r.segments.size() != count)
      continue;
    bool same = true;
    for (std::size_t i = 0; i < count && same; ++i)
      same = is_param(r.segments[i]) || r.segments[i] == segments[i];
    if (!same)
      continue;
    if (r.method == method) {
      result.found = &r;
      result.method_mismatch = false;
      params.clear();
      for (std::size_t i = 0; i < count; ++i)
        if (is_param(r.segments[i]))
          params.emplace_back(segments[i]);
      return result;
    }
    result.method_mismatch = true;
    if (!result.allowed.empty())
      result.allowed += ", ";
    result.allowed += r.method;
  }
  return result;
}

std::vector<router::listed_route> router::list() const {
  std::vector<listed_route> out;
  for (const auto& r : routes_) {
    std::string pattern;
    for (const auto& s : r.segments)
      pattern += "/" + s;
    out.push_back(listed_route{r.method, pattern.empty() ? "/" : pattern, r.who});
  }
  return out;
}

} // namespace bazaar::gateway
