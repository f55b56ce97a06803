#include "bazaar/node_metrics.hpp"

#include "bazaar/domain/order_journal.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/cluster.hpp"
#include "bazaar/runtime/grain_client.hpp"
#include "bazaar/runtime/logging.hpp"

#include <prometheus/registry.h>
#include <spdlog/common.h>

#include <array>

namespace bazaar {

using runtime::add_sample;
using runtime::counter_family;
using runtime::gauge_family;

namespace {

/// Why a saga ended, as a label: a cancel reason the saga gives, else "other" (a customer's
/// reason is free text: never a label value).
constexpr std::array<const char*, 6> known_reasons{
    domain::cancel_reasons::out_of_stock,        domain::cancel_reasons::product_inactive,
    domain::cancel_reasons::payment_declined,    domain::cancel_reasons::payment_timeout,
    domain::cancel_reasons::reservation_timeout, domain::cancel_reasons::customer_request};

std::vector<double> saga_buckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

/// A histogram of durations in seconds, with the runtime's latency buckets and no labels.
prometheus::Histogram& latency_histogram(runtime::metrics& metrics, const std::string& name,
                                         const std::string& help) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(metrics.registry())
      .Add({}, runtime::latency_buckets());
}

} // namespace

node_metrics::node_metrics()
    : http_(metrics_.registry()),
      batch_rows_(prometheus::BuildHistogram()
                      .Name("bazaar_persister_batch_rows")
                      .Help("Grains written per committed persister transaction (after "
                            "coalescing)")
                      .Register(metrics_.registry())
                      .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100,
                                                                       200, 500, 1000})),
      commit_seconds_(latency_histogram(
          metrics_, "bazaar_persister_commit_seconds",
          "Time of a committed persister transaction, first statement to commit")),
      publish_delay_(
          latency_histogram(metrics_, "bazaar_outbox_publish_delay_seconds",
                            "Time from an event's commit to Kafka's confirmation of it")),
      record_delay_(
          latency_histogram(metrics_, "bazaar_kafka_record_delay_seconds",
                            "Time from a record's produce time stamp to the Kafka bridge consuming "
                            "it (the broker and the fetch), for records handled")),
      handle_seconds_(latency_histogram(metrics_, "bazaar_kafka_bridge_handle_seconds",
                                        "Time from the Kafka bridge sending a record to its grain "
                                        "to the grain's answer (its step with the durable write)")),
      sagas_(prometheus::BuildCounter()
                 .Name("bazaar_sagas_total")
                 .Help("Checkout sagas ended on this node's orders, by outcome (confirmed, "
                       "cancelled) and cancel reason")
                 .Register(metrics_.registry())),
      saga_seconds_(prometheus::BuildHistogram()
                        .Name("bazaar_saga_duration_seconds")
                        .Help("Time from an order's creation to the end of its checkout saga, "
                              "by outcome")
                        .Register(metrics_.registry())) {
  saga_counts_["confirmed"] = &sagas_.Add({{"outcome", "confirmed"}, {"reason", "none"}});
  for (const char* reason : known_reasons)
    saga_counts_[reason] = &sagas_.Add({{"outcome", "cancelled"}, {"reason", reason}});
  saga_counts_["other"] = &sagas_.Add({{"outcome", "cancelled"}, {"reason", "other"}});
  for (const char* outcome : {"confirmed", "cancelled"})
    saga_durations_[outcome] = &saga_seconds_.Add({{"outcome", outcome}}, saga_buckets());
  metrics_.add_source([](auto& out) {
    auto dropped = counter_family("bazaar_log_lines_dropped_total",
                                  "Log lines of this process dropped because the asynchronous "
                                  "log's queue was full (log.queue_lines), by level");
    auto counts = runtime::log_lines_dropped();
    for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                       spdlog::level::warn, spdlog::level::err, spdlog::level::critical}) {
      auto name = spdlog::level::to_string_view(level);
      add_sample(dropped, {{"level", std::string(name.data(), name.size())}},
                 static_cast<double>(counts[static_cast<std::size_t>(level)]));
    }
    out.push_back(std::move(dropped));
  });
}

std::function<void(const persistence::persister::batch_report&)> node_metrics::persister_batches() {
  return [this](const persistence::persister::batch_report& b) {
    batch_rows_.Observe(static_cast<double>(b.rows));
    commit_seconds_.Observe(static_cast<double>(b.took.count()) * 1e-6);
    for (const auto* w : b.saved)
      if (!w->events.empty())
        sagas_of(*w);
  };
}

void node_metrics::sagas_of(const persistence::grain_write& w) {
  for (const auto& e : w.events) {
    auto end = domain::saga_ending_of(e.event_type, e.envelope, w.state);
    if (!end)
      continue;
    auto key = end->confirmed ? std::string{"confirmed"} : end->reason;
    if (!end->confirmed && (saga_counts_.count(key) == 0 || key == "confirmed"))
      key = "other";
    saga_counts_.at(key)->Increment();
    if (end->duration_ms >= 0)
      saga_durations_.at(end->confirmed ? "confirmed" : "cancelled")
          ->Observe(static_cast<double>(end->duration_ms) * 1e-3);
  }
}

std::function<void(std::chrono::milliseconds)> node_metrics::publish_delays() {
  return [this](std::chrono::milliseconds delay) {
    publish_delay_.Observe(static_cast<double>(std::max<std::int64_t>(delay.count(), 0)) * 1e-3);
  };
}

std::function<void(std::chrono::milliseconds, std::chrono::microseconds)>
node_metrics::bridge_timings() {
  return [this](std::chrono::milliseconds in_kafka, std::chrono::microseconds in_grain) {
    record_delay_.Observe(static_cast<double>(in_kafka.count()) * 1e-3);
    handle_seconds_.Observe(static_cast<double>(in_grain.count()) * 1e-6);
  };
}

void node_metrics::watch(const metered_parts& p) {
  if (p.grains != nullptr || p.client != nullptr)
    metrics_.add_source([grains = p.grains, client = p.client](auto& out) {
      if (grains != nullptr) {
        auto active = gauge_family("bazaar_grains_active", "Grains active on this node, by type");
        auto activations = counter_family("bazaar_grain_activations_total",
                                          "Grain activations on this node, by type");
        auto deactivations = counter_family(
            "bazaar_grain_deactivations_total",
            "Grain activations that ended on this node (idle, moved, fenced, stopped), by type");
        auto mailbox = gauge_family(
            "bazaar_grain_mailbox_depth",
            "Messages waiting in the mailboxes of a type's grains, as each grain last saw its "
            "own while handling a message: the sum");
        auto mailbox_max = gauge_family("bazaar_grain_mailbox_depth_max",
                                        "The same, the largest of one grain of the type");
        for (const auto& t : grains->types()) {
          runtime::label_list l{{"type", t.type}};
          add_sample(active, l, static_cast<double>(t.active));
          add_sample(activations, l, static_cast<double>(t.activations));
          add_sample(deactivations, l, static_cast<double>(t.deactivations));
          add_sample(mailbox, l, static_cast<double>(t.mailbox_total));
          add_sample(mailbox_max, l, static_cast<double>(t.mailbox_max));
        }
        auto stubs = gauge_family("bazaar_grain_remote_stubs",
                                  "Stubs held for grains that live on other nodes");
        add_sample(stubs, {}, static_cast<double>(grains->stubs()));
        for (auto* f : {&active, &activations, &deactivations, &mailbox, &mailbox_max, &stubs})
          out.push_back(std::move(*f));
      }
      if (client != nullptr) {
        auto calls = gauge_family("bazaar_grain_calls_in_flight",
                                  "Calls to grains through the node's grain client (gateway, "
                                  "Kafka bridge, reminders) not answered yet: queued in "
                                  "mailboxes or being handled");
        add_sample(calls, {}, static_cast<double>(client->inflight()));
        out.push_back(std::move(calls));
      }
    });
  if (p.writes != nullptr)
    metrics_.add_source([s = p.writes](auto& out) {
      auto add = [&out](const char* name, const char* help, const std::atomic<std::uint64_t>& v) {
        auto f = counter_family(name, help);
        add_sample(f, {}, static_cast<double>(v.load(std::memory_order_relaxed)));
        out.push_back(std::move(f));
      };
      add("bazaar_persister_transactions_total", "Persister transactions committed",
          s->transactions);
      add("bazaar_persister_writes_total", "Grain writes handed to the persister", s->writes);
      add("bazaar_persister_rows_total", "Grain rows committed (after coalescing)", s->rows);
      add("bazaar_persister_fenced_writes_total",
          "Grain writes refused by a fence: a newer version was stored (another activation) or "
          "the node had lost its membership",
          s->conflicts);
      add("bazaar_persister_fenced_batches_total",
          "Persister transactions refused whole: the node had lost its cluster membership",
          s->fenced);
      add("bazaar_persister_failed_transactions_total",
          "Persister transactions that failed (the writes answered unavailable)",
          s->failed_transactions);
    });
  if (p.bridge != nullptr || p.relay != nullptr || p.projector != nullptr)
    metrics_.add_source([bridge = p.bridge, relay = p.relay, projector = p.projector](auto& out) {
      auto produced =
          counter_family("bazaar_kafka_produced_total", "Records Kafka confirmed, by producer");
      auto consumed =
          counter_family("bazaar_kafka_consumed_total", "Records taken from Kafka, by consumer");
      auto lag = gauge_family("bazaar_kafka_consumer_lag",
                              "Records not committed yet by a consumer's group, summed over "
                              "the partitions assigned to this node with a known lag, by "
                              "consumer and topic");
      auto dlq = counter_family("bazaar_kafka_dead_lettered_total",
                                "Records the bridge sent to <topic>.dlq");
      if (relay != nullptr) {
        add_sample(produced, {{"producer", "outbox_relay"}},
                   static_cast<double>(relay->published()));
        auto backlog =
            gauge_family("bazaar_outbox_backlog", "Outbox rows not published yet (counted "
                                                  "at most once a second by the leading relay)");
        if (relay->backlog() >= 0)
          add_sample(backlog, {}, static_cast<double>(relay->backlog()));
        auto leading = gauge_family("bazaar_outbox_relay_leading",
                                    "1 while this node's relay holds the relay lease");
        add_sample(leading, {}, relay->leading() ? 1 : 0);
        out.push_back(std::move(backlog));
        out.push_back(std::move(leading));
      }
      auto lag_by_topic = [&lag](const std::string& consumer,
                                 const std::vector<kafka::partition_lag>& parts) {
        std::map<std::string, std::int64_t> sum;
        for (const auto& pl : parts)
          if (pl.lag >= 0)
            sum[pl.topic] += pl.lag;
        for (const auto& [topic, n] : sum)
          add_sample(lag, {{"consumer", consumer}, {"topic", topic}}, static_cast<double>(n));
      };
      if (bridge != nullptr) {
        const auto& s = bridge->stats();
        add_sample(produced, {{"producer", "bridge_dlq"}},
                   static_cast<double>(s.dead_lettered.load()));
        add_sample(consumed, {{"consumer", "bridge"}}, static_cast<double>(s.consumed.load()));
        add_sample(dlq, {}, static_cast<double>(s.dead_lettered.load()));
        auto handled =
            counter_family("bazaar_kafka_bridge_handled_total", "Records grains handled durably");
        add_sample(handled, {}, static_cast<double>(s.handled.load()));
        auto retried = counter_family("bazaar_kafka_bridge_retried_total",
                                      "Records sent to their grain again after a failure");
        add_sample(retried, {}, static_cast<double>(s.retried.load()));
        auto in_flight = gauge_family("bazaar_kafka_bridge_in_flight",
                                      "Records sent to grains and not handled yet");
        add_sample(in_flight, {}, static_cast<double>(s.in_flight.load()));
        lag_by_topic("bridge", bridge->partitions());
        for (auto* f : {&handled, &retried, &in_flight})
          out.push_back(std::move(*f));
      }
      if (projector != nullptr)
        for (const auto& s : projector->status()) {
          add_sample(consumed, {{"consumer", "projection_" + s.name}},
                     static_cast<double>(s.consumed));
          lag_by_topic("projection_" + s.name, s.partitions);
        }
      for (auto* f : {&produced, &consumed, &lag, &dlq})
        out.push_back(std::move(*f));
    });
  if (p.cluster != nullptr)
    metrics_.add_source([cluster = p.cluster](auto& out) {
      auto members = gauge_family("bazaar_cluster_members",
                                  "Members of the cluster by status, as this node last read the "
                                  "membership table");
      std::map<std::string, int> by_status{{"joining", 0}, {"alive", 0}, {"left", 0}, {"dead", 0}};
      for (const auto& m : cluster->members())
        ++by_status[m.status];
      for (const auto& [status, n] : by_status)
        add_sample(members, {{"status", status}}, n);
      out.push_back(std::move(members));
    });
}

} // namespace bazaar
