#pragma once

/// What a grain's command handler decides: the reply (the command is accepted, and its changes
/// are to be committed before the reply leaves), a refusal (nothing changed), or a call to
/// another grain whose answer decides (the grain handles nothing else meanwhile).

#include "bazaar/core/failure.hpp"

#include <functional>
#include <optional>
#include <utility>
#include <variant>

namespace bazaar::runtime {

template <class Reply>
class outcome {
 public:
  /// Continues a deferred outcome once the call it waits for has answered.
  using resume_fn = std::function<void(outcome)>;
  /// Starts what a deferred outcome waits for; calls `resume` exactly once.
  using start_fn = std::function<void(resume_fn resume)>;

  /// Accepted: answer `reply` once the command's changes are committed.
  outcome(Reply reply) : value_(std::move(reply)) {}
  /// Refused: the handler changed nothing.
  outcome(core::failure refusal) : value_(std::move(refusal)) {}

  /// An outcome that is known once `start` resumes it.
  static outcome deferred(start_fn start) { return outcome{std::move(start)}; }

  bool accepted() const { return std::holds_alternative<Reply>(value_); }
  bool refused() const { return std::holds_alternative<core::failure>(value_); }
  bool is_deferred() const { return std::holds_alternative<start_fn>(value_); }

  Reply& reply() { return std::get<Reply>(value_); }
  const core::failure& refusal() const { return std::get<core::failure>(value_); }
  start_fn& start() { return std::get<start_fn>(value_); }

 private:
  explicit outcome(start_fn start) : value_(std::move(start)) {}

  std::variant<Reply, core::failure, start_fn> value_;
};

/// The answer to one of several calls asked at once (command::ask_all): the callee's reply, or
/// why the call failed (refused, timed out, unreachable).
template <class Reply>
struct answer {
  std::optional<Reply> reply;
  core::failure failure;

  answer() = default;
  explicit answer(Reply r) : reply(std::move(r)) {}
  explicit answer(core::failure f) : failure(std::move(f)) {}

  bool ok() const { return reply.has_value(); }
};

} // namespace bazaar::runtime
