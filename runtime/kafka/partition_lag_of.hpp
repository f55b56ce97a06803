#pragma once

/// The lag of a consumer's assigned partitions, as the bridge and the projector report it.

#include "bazaar/kafka/bridge.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <tuple>
#include <vector>

namespace bazaar::kafka {

/// Each partition of `assigned` (a consumer's assignment) with the next offset the group
/// committed (`committed_of(topic, partition)`, -1 none) and its lag behind librdkafka's cached
/// high watermark (no broker round trip). With `count_from_position`, a partition not committed
/// yet counts from the consumer's position in `assigned` (see rd_kafka_position). Sorted by
/// topic and partition.
template <class CommittedOf>
std::vector<partition_lag> partition_lag_of(rd_kafka_t* rk,
                                            const rd_kafka_topic_partition_list_t& assigned,
                                            CommittedOf committed_of, bool count_from_position) {
  std::vector<partition_lag> out;
  for (int i = 0; i < assigned.cnt; ++i) {
    const auto& p = assigned.elems[i];
    partition_lag l;
    l.topic = p.topic;
    l.partition = p.partition;
    l.committed = committed_of(l.topic, l.partition);
    std::int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk, p.topic, p.partition, &low, &high) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0)
      l.high_watermark = high;
    auto base = l.committed >= 0 || !count_from_position ? l.committed : p.offset;
    if (l.high_watermark >= 0 && base >= 0)
      l.lag = std::max<std::int64_t>(0, l.high_watermark - base);
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const partition_lag& a, const partition_lag& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

} // namespace bazaar::kafka
