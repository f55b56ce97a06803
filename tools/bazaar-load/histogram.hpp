#pragma once

/// A high-dynamic-range latency histogram in the manner of HdrHistogram: log-linear buckets,
/// 128 linear sub-buckets per power of two, so that every recorded value is represented within
/// 1/128 (< 0.8 %) of itself from 1 µs to hours. Fixed memory (a few tens of KiB), O(1)
/// record, mergeable; not thread-safe (each thread records into its own).

#include <array>
#include <cstdint>

namespace bazaar::load {

class latency_histogram {
 public:
  /// Linear sub-buckets per power of two: 2^7.
  static constexpr int sub_bucket_bits = 7;
  static constexpr std::uint64_t sub_buckets = 1ULL << sub_bucket_bits;
  /// Values are nanoseconds; magnitude m >= 1 holds [2^(m+7), 2^(m+8)) in steps of 2^m, up to
  /// 2^46 ns (~ 19 hours).
  static constexpr int magnitudes = 38;
  static constexpr std::size_t bucket_count = (magnitudes + 2) * sub_buckets;

  /// Records one value in nanoseconds (values past the range are kept in the last bucket).
  void record(std::uint64_t nanos);
  void merge(const latency_histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  /// Exact smallest and largest values recorded; 0 when empty.
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  /// Exact mean of the recorded values; 0 when empty.
  double mean() const;
  /// The value at percentile `p` (0..100): the smallest bucket value v such that at least p %
  /// of the recorded values are <= v, reported as the bucket's midpoint and never above max().
  /// 0 when empty.
  std::uint64_t percentile(double p) const;

  /// The index of the bucket holding `nanos`, and the lowest and highest values of a bucket.
  static std::size_t index_of(std::uint64_t nanos);
  static std::uint64_t lowest_of(std::size_t index);
  static std::uint64_t highest_of(std::size_t index);

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace bazaar::load
