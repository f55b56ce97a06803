#pragma once

/// The consistency model of bazaar-load's baskets: what each customer's basket must hold,
/// built only from the operations the node acknowledged, checked against every basket the node
/// shows (each write's answer, each read, and the final read after the load).
///
/// A customer is used by one virtual user at a time (try_acquire/release), so each customer's
/// operations form a sequence. An operation the node refused (4xx, or 503, which promises that
/// nothing happened) changes nothing. An operation without an answer (timeout, closed
/// connection, 500, 504) may or may not have happened: each line it touches may then hold
/// either quantity, until an answer shows which. A line the node shows outside the quantities
/// the model allows is a *lost write* when the model expected the line's acknowledged writes to
/// show, and a *phantom write* when the model says no acknowledged write put it there (the line
/// cannot exist). Either way the model then follows the node, so that one anomaly is counted
/// once. A basket version lower than one already acknowledged is counted as well.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bazaar::load {

struct basket_op {
  enum class kind { add, set, remove, clear, get, checkout };
  kind what = kind::get;
  int sku = -1; ///< index of the sku, for add, set and remove
  int quantity = 0;
};

const char* to_string(basket_op::kind k);

/// A basket as the node showed it: quantities by sku index.
struct basket_view {
  std::map<int, int> lines;
  /// Skus the node showed that this run never wrote (not one of its skus).
  std::vector<std::string> foreign_skus;
  std::int64_t version = -1;
};

/// What the checks found so far.
struct consistency_counts {
  std::uint64_t lost_writes = 0;
  std::uint64_t phantom_writes = 0;
  std::uint64_t version_regressions = 0;
  /// Operations the node may or may not have carried out (no answer).
  std::uint64_t unknown_outcomes = 0;
  /// Baskets compared with the model: in answers during the load, and in the final reads.
  std::uint64_t answers_checked = 0;
  std::uint64_t final_checked = 0;

  bool passed() const {
    return lost_writes == 0 && phantom_writes == 0 && version_regressions == 0;
  }
};

class basket_model {
 public:
  /// Quantities a line may hold: a few values, or `any` once too many unknown outcomes piled up.
  struct line_candidates {
    std::vector<int> values{0}; ///< sorted, distinct; {0} is "no line"
    bool any = false;
    bool allows(int quantity) const;
  };

  explicit basket_model(std::size_t customers);

  std::size_t customers() const { return customers_.size(); }

  /// Takes a customer for one virtual user; false when another holds it.
  bool try_acquire(std::size_t customer);
  void release(std::size_t customer);

  /// `op` was acknowledged; `answer` is the basket the answer showed (nullptr for a checkout,
  /// whose answer shows none). Returns false when the answer contradicted the model.
  bool acknowledged(std::size_t customer, const basket_op& op, const basket_view* answer);
  /// `op` got no answer: it may have happened.
  void unknown(std::size_t customer, const basket_op& op);
  /// Compares the basket read after the load. Returns false on a contradiction.
  bool check_final(std::size_t customer, const basket_view& actual);

  /// The quantity the model most expects for a line (0 for none), for choosing operations.
  int expected_quantity(std::size_t customer, int sku) const;
  /// How many lines the model expects, and whether one of them is `sku`'s.
  std::size_t line_count(std::size_t customer) const { return customers_[customer]->lines.size(); }
  bool has_line(std::size_t customer, int sku) const {
    return customers_[customer]->lines.count(sku) > 0;
  }
  /// Sku indices of the lines the model expects.
  std::vector<int> expected_skus(std::size_t customer) const;
  /// Whether any operation was applied to the customer (only those are read at the end).
  bool touched(std::size_t customer) const;

  /// Test-only: records an add of `quantity` to `sku` as acknowledged without sending it, as if
  /// the node had acknowledged a write and lost it. The final check must then fail.
  void inject_lost_write(std::size_t customer, int sku, int quantity);

  consistency_counts counts() const;
  /// Descriptions of the first anomalies (at most 20), for the report.
  std::vector<std::string> anomalies() const;

 private:
  struct customer_state {
    std::atomic<bool> busy{false};
    std::map<int, line_candidates> lines; ///< absent: {0}
    std::int64_t last_version = -1;
    bool touched = false;
  };

  void apply(customer_state& c, const basket_op& op, bool maybe);
  bool compare(std::size_t customer, customer_state& c, const basket_view& view, const char* where);
  void note(std::string what);

  std::vector<std::unique_ptr<customer_state>> customers_;
  std::atomic<std::uint64_t> lost_{0}, phantom_{0}, regressions_{0}, unknown_{0}, answers_{0},
      final_{0};
  mutable std::mutex notes_mutex_;
  std::vector<std::string> notes_;
};

} // namespace bazaar::load
