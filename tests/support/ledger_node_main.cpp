// A test executable: the `bazaar` command line with the test-only "ledger" grain type added
// (support/ledger_grain.hpp), so that a real node process can route Kafka records to a grain.
// The production `bazaar` binary does not contain the ledger.

#include "bazaar/cli.hpp"

#include "support/ledger_grain.hpp"

int main(int argc, char** argv) {
  return bazaar::run_cli(argc, argv, {bazaar::grain_extension_of(bazaar::test::ledger_grain{})});
}
