#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace bazaar::load {

std::size_t latency_histogram::index_of(std::uint64_t nanos) {
  // Values below 2 * sub_buckets are their own bucket (magnitude 0 covers 0..255 exactly);
  // above, magnitude m holds [2^(m+7), 2^(m+8)) in sub_buckets steps of 2^m.
  if (nanos < 2 * sub_buckets)
    return static_cast<std::size_t>(nanos);
  int top = 63 - __builtin_clzll(nanos); // position of the highest set bit, >= 8
  int magnitude = top - sub_bucket_bits; // >= 1
  if (magnitude > magnitudes)
    return bucket_count - 1;
  auto sub = (nanos >> magnitude) - sub_buckets; // 0..127 within the upper half
  auto index = (static_cast<std::uint64_t>(magnitude) + 1) * sub_buckets + sub;
  return static_cast<std::size_t>(std::min<std::uint64_t>(index, bucket_count - 1));
}

std::uint64_t latency_histogram::lowest_of(std::size_t index) {
  if (index < 2 * sub_buckets)
    return index;
  auto magnitude = index / sub_buckets - 1;
  auto sub = index % sub_buckets;
  return (sub_buckets + sub) << magnitude;
}

std::uint64_t latency_histogram::highest_of(std::size_t index) {
  if (index < 2 * sub_buckets)
    return index;
  auto magnitude = index / sub_buckets - 1;
  return lowest_of(index) + (1ULL << magnitude) - 1;
}

void latency_histogram::record(std::uint64_t nanos) {
  ++counts_[index_of(nanos)];
  ++count_;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
  sum_ += static_cast<long double>(nanos);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void latency_histogram::reset() {
  *this = latency_histogram{};
}

double latency_histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t latency_histogram::percentile(double p) const {
  if (count_ == 0)
    return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the value asked for, 1-based: at least one value.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      auto mid = lowest_of(i) + (highest_of(i) - lowest_of(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

} // namespace bazaar::load
