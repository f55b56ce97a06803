#include "basket_model.hpp"

#include <algorithm>

namespace bazaar::load {

namespace {

/// More candidate quantities than this for one line and the model stops telling them apart.
constexpr std::size_t max_candidates = 16;
constexpr std::size_t max_notes = 20;

/// The quantity a line has after `op` when it had `q` (the node's own rules: a line holds at
/// most 999 units, more is refused, so an add past it does not happen).
int after(const basket_op& op, int q) {
  switch (op.what) {
  case basket_op::kind::add:
    return q + op.quantity > 999 ? q : q + op.quantity;
  case basket_op::kind::set:
    return op.quantity;
  case basket_op::kind::remove:
  case basket_op::kind::clear:
  case basket_op::kind::checkout:
    return 0;
  case basket_op::kind::get:
    return q;
  }
  return q;
}

/// Whether a line can only be absent.
bool absent(const basket_model::line_candidates& line) {
  return !line.any && line.values.size() == 1 && line.values.front() == 0;
}

bool touches_every_line(basket_op::kind k) {
  return k == basket_op::kind::clear || k == basket_op::kind::checkout;
}

} // namespace

const char* to_string(basket_op::kind k) {
  switch (k) {
  case basket_op::kind::add:
    return "add";
  case basket_op::kind::set:
    return "set";
  case basket_op::kind::remove:
    return "remove";
  case basket_op::kind::clear:
    return "clear";
  case basket_op::kind::get:
    return "get";
  case basket_op::kind::checkout:
    return "checkout";
  }
  return "?";
}

bool basket_model::line_candidates::allows(int quantity) const {
  return any || std::binary_search(values.begin(), values.end(), quantity);
}

basket_model::basket_model(std::size_t customers) {
  customers_.reserve(customers);
  for (std::size_t i = 0; i < customers; ++i)
    customers_.push_back(std::make_unique<customer_state>());
}

bool basket_model::try_acquire(std::size_t customer) {
  bool expected = false;
  return customers_[customer]->busy.compare_exchange_strong(expected, true,
                                                            std::memory_order_acquire);
}

void basket_model::release(std::size_t customer) {
  customers_[customer]->busy.store(false, std::memory_order_release);
}

void basket_model::apply(customer_state& c, const basket_op& op, bool maybe) {
  c.touched = true;
  auto update = [&](line_candidates& line) {
    if (line.any)
      return;
    if (!maybe && line.values.size() == 1) { // the usual case: one known quantity
      line.values.front() = after(op, line.values.front());
      return;
    }
    std::vector<int> next;
    next.reserve(line.values.size() * 2);
    for (int q : line.values) {
      next.push_back(after(op, q));
      if (maybe)
        next.push_back(q);
    }
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    if (next.size() > max_candidates) {
      line.any = true;
      line.values.clear();
      return;
    }
    line.values = std::move(next);
  };
  if (touches_every_line(op.what)) {
    for (auto it = c.lines.begin(); it != c.lines.end();) {
      update(it->second);
      it = absent(it->second) ? c.lines.erase(it) : std::next(it);
    }
  } else if (op.what != basket_op::kind::get) {
    auto it = c.lines.try_emplace(op.sku).first;
    update(it->second);
    if (absent(it->second)) // lines that can only be absent are not kept
      c.lines.erase(it);
  }
}

bool basket_model::compare(std::size_t customer, customer_state& c, const basket_view& view,
                           const char* where) {
  bool ok = true;
  // Every sku of the model or of the view, in order (both maps are sorted).
  std::vector<int> skus;
  skus.reserve(c.lines.size() + view.lines.size());
  for (const auto& [sku, line] : c.lines)
    skus.push_back(sku);
  for (const auto& [sku, q] : view.lines)
    skus.push_back(sku);
  std::inplace_merge(skus.begin(), skus.begin() + static_cast<std::ptrdiff_t>(c.lines.size()),
                     skus.end());
  skus.erase(std::unique(skus.begin(), skus.end()), skus.end());
  for (int sku : skus) {
    auto in_view = view.lines.find(sku);
    auto shown = in_view == view.lines.end() ? 0 : in_view->second;
    auto it = c.lines.find(sku);
    static const line_candidates none{};
    const line_candidates& expected = it == c.lines.end() ? none : it->second;
    if (!expected.allows(shown)) {
      ok = false;
      bool phantom = absent(expected);
      (phantom ? phantom_ : lost_).fetch_add(1);
      std::string allowed;
      for (int q : expected.values)
        allowed += (allowed.empty() ? "" : " or ") + std::to_string(q);
      note(std::string{phantom ? "phantom write" : "lost write"} + " (" + where + "): customer #" +
           std::to_string(customer) + ", sku #" + std::to_string(sku) + ": the node shows " +
           std::to_string(shown) + ", the acknowledged operations allow " + allowed);
    }
    // From here the model follows the node (one anomaly is counted once).
    if (shown == 0) {
      if (it != c.lines.end())
        c.lines.erase(it);
    } else if (it == c.lines.end()) {
      c.lines.emplace(sku, line_candidates{{shown}, false});
    } else if (it->second.any || it->second.values.size() != 1 ||
               it->second.values.front() != shown) {
      it->second = line_candidates{{shown}, false};
    }
  }
  for (const auto& sku : view.foreign_skus) {
    ok = false;
    phantom_.fetch_add(1);
    note(std::string{"phantom write ("} + where + "): customer #" + std::to_string(customer) +
         " has a line of sku \"" + sku + "\" that this run never added");
  }
  if (view.version >= 0) {
    // A write that changes nothing (setting a line to its quantity) keeps the version.
    if (view.version < c.last_version) {
      ok = false;
      regressions_.fetch_add(1);
      note(std::string{"version regression ("} + where + "): customer #" +
           std::to_string(customer) + ": version " + std::to_string(view.version) +
           " after an acknowledged version " + std::to_string(c.last_version));
    }
    c.last_version = std::max(c.last_version, view.version);
  }
  return ok;
}

bool basket_model::acknowledged(std::size_t customer, const basket_op& op,
                                const basket_view* answer) {
  auto& c = *customers_[customer];
  apply(c, op, false);
  if (answer == nullptr)
    return true;
  answers_.fetch_add(1);
  return compare(customer, c, *answer, "in an answer");
}

void basket_model::unknown(std::size_t customer, const basket_op& op) {
  unknown_.fetch_add(1);
  apply(*customers_[customer], op, true);
}

bool basket_model::check_final(std::size_t customer, const basket_view& actual) {
  final_.fetch_add(1);
  return compare(customer, *customers_[customer], actual, "in the final read");
}

int basket_model::expected_quantity(std::size_t customer, int sku) const {
  const auto& lines = customers_[customer]->lines;
  auto it = lines.find(sku);
  if (it == lines.end() || it->second.any)
    return 0;
  return it->second.values.back();
}

std::vector<int> basket_model::expected_skus(std::size_t customer) const {
  std::vector<int> skus;
  for (const auto& [sku, line] : customers_[customer]->lines)
    skus.push_back(sku);
  return skus;
}

bool basket_model::touched(std::size_t customer) const {
  return customers_[customer]->touched;
}

void basket_model::inject_lost_write(std::size_t customer, int sku, int quantity) {
  apply(*customers_[customer], basket_op{basket_op::kind::add, sku, quantity}, false);
}

consistency_counts basket_model::counts() const {
  consistency_counts c;
  c.lost_writes = lost_.load();
  c.phantom_writes = phantom_.load();
  c.version_regressions = regressions_.load();
  c.unknown_outcomes = unknown_.load();
  c.answers_checked = answers_.load();
  c.final_checked = final_.load();
  return c;
}

void basket_model::note(std::string what) {
  std::lock_guard lock{notes_mutex_};
  if (notes_.size() < max_notes)
    notes_.push_back(std::move(what));
}

std::vector<std::string> basket_model::anomalies() const {
  std::lock_guard lock{notes_mutex_};
  return notes_;
}

} // namespace bazaar::load
