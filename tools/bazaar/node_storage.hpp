#pragma once

/// The node's storage stage: PostgreSQL and what hangs on its commits (the outbox relay that
/// publishes their events, the read side's projections and queries), or, without
/// postgres.url, a storage that is never ready.

#include "bazaar/config/options.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/node_metrics.hpp"
#include "bazaar/persistence/node_lease.hpp"
#include "bazaar/persistence/pg_read_models.hpp"
#include "bazaar/persistence/pg_settings.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/event_history.hpp"

#include <memory>
#include <string>

namespace bazaar {

/// Declared so that PostgreSQL's writers, which wake the relay, go before the relay does.
struct node_storage {
  std::unique_ptr<kafka::outbox_relay> relay;
  /// Grain writes commit only while this node holds its cluster membership.
  std::shared_ptr<persistence::node_lease> lease;
  /// PostgreSQL, when configured; null otherwise, and so is everything above and below but the
  /// roles and the history.
  std::shared_ptr<persistence::pg_storage> pg;
  persistence::pg_settings settings;
  /// The storage roles the runtime uses, served by `pg` or by a storage that is never ready.
  std::shared_ptr<persistence::grain_store> grain_store;
  std::shared_ptr<persistence::reminder_store> reminder_store;
  std::unique_ptr<runtime::event_history> history;
  std::unique_ptr<kafka::projector> projector;
  std::unique_ptr<persistence::pg_read_models> read_models;
};

/// Storage for `opts` (its writers run from here on), publishing to Kafka at `bootstrap`;
/// `embedded_kafka` says that Kafka lives and dies with this process.
node_storage make_node_storage(const config::node_options& opts, const std::string& bootstrap,
                               bool embedded_kafka, node_metrics& metrics);

} // namespace bazaar
