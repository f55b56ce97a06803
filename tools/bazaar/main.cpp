// The node executable: `bazaar serve [--config FILE] [--set section.key=value ...]`.

#include "bazaar/cli.hpp"

int main(int argc, char** argv) {
  return bazaar::run_cli(argc, argv);
}
