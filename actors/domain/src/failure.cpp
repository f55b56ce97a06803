#include "bazaar/domain/failure.hpp"

namespace bazaar::domain {

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > 64)
    return false;
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

bool is_currency(std::string_view text) {
  if (text.size() != 3)
    return false;
  for (char c : text)
    if (c < 'A' || c > 'Z')
      return false;
  return true;
}

} // namespace bazaar::domain
