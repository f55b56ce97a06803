// A test executable: the `bazaar` command line with the test-only "ledger" grain type added
// (support/ledger_grain.hpp), so that a real node process can route Kafka records to a grain.
// The production `bazaar` binary does not contain the ledger.

#include "bazaar/cli.hpp"

#include "support/ledger_grain.hpp"

int main(int argc, char** argv) {
  bazaar::grain_extension ledger;
  ledger.register_types = [](caf::actor_system_config& cfg) {
    bazaar::runtime::register_interface<bazaar::test::ledger_grain::interface>(cfg);
  };
  ledger.register_grains = [](bazaar::runtime::catalog& grains,
                              const bazaar::runtime::grain_services& services) {
    bazaar::test::register_ledger(grains, services);
  };
  ledger.types = {{bazaar::test::ledger_grain::type,
                   bazaar::handles_kafka_records<bazaar::test::ledger_grain>}};
  return bazaar::run_cli(argc, argv, {std::move(ledger)});
}
