#include "bazaar/actors/registry.hpp"

#include "bazaar/actors/grains.hpp"
#include "bazaar/actors/protocol.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/kafka_record.hpp"
#include "bazaar/runtime/reminders.hpp"

namespace bazaar::actors {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<basket_get>("bazaar.basket_get");
  cfg.add_message_type<basket_add>("bazaar.basket_add");
  cfg.add_message_type<basket_set>("bazaar.basket_set");
  cfg.add_message_type<basket_remove>("bazaar.basket_remove");
  cfg.add_message_type<basket_clear>("bazaar.basket_clear");
  cfg.add_message_type<basket_checkout>("bazaar.basket_checkout");
  cfg.add_message_type<checkout_accepted>("bazaar.checkout_accepted");
  cfg.add_message_type<order_create>("bazaar.order_create");
  cfg.add_message_type<order_get>("bazaar.order_get");
  cfg.add_message_type<domain::order>("bazaar.order");
  cfg.add_message_type<runtime::reminder_due>("bazaar.reminder_due");
  cfg.add_message_type<runtime::kafka_record>("bazaar.kafka_record");
  cfg.add_message_type<product_get>("bazaar.product_get");
  cfg.add_message_type<product_create>("bazaar.product_create");
  cfg.add_message_type<domain::basket>("bazaar.basket");
  cfg.add_message_type<domain::product>("bazaar.product");
  cfg.add_error_category(runtime::error_category, runtime::render_error);
  cfg.add_error_category(runtime::replay_category,
                         [](std::uint8_t, caf::atom_value, const caf::message&) {
                           return std::string{"replayed idempotent answer"};
                         });
}

void register_grains(runtime::catalog& grains, const config::grains_options& opts,
                     grain_services services) {
  grains.register_type(
      basket_type,
      [services](caf::actor_system& sys, const runtime::grain_context& ctx) {
        return spawn_basket(sys, ctx, services);
      },
      std::chrono::milliseconds{opts.basket_idle_timeout_ms});
  grains.register_type(
      product_type,
      [services](caf::actor_system& sys, const runtime::grain_context& ctx) {
        return spawn_product(sys, ctx, services);
      },
      std::chrono::milliseconds{opts.product_idle_timeout_ms});
  grains.register_type(
      order_type,
      [services](caf::actor_system& sys, const runtime::grain_context& ctx) {
        return spawn_order(sys, ctx, services);
      },
      std::chrono::milliseconds{opts.order_idle_timeout_ms});
}

} // namespace bazaar::actors
