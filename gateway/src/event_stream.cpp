#include "bazaar/gateway/event_stream.hpp"

#include "peer_state.hpp"

#include <string>
#include <vector>

namespace bazaar::gateway {

event_stream::event_stream(std::shared_ptr<peer_state> conn,
                           std::shared_ptr<stream_registry> registry)
    : conn_(std::move(conn)), registry_(registry) {
  last_write_ns_ = conn_->now_ns();
}

void event_stream::start() {
  auto registry = registry_.lock();
  if (!registry || !registry->add(shared_from_this())) {
    finish(true);
    return;
  }
  std::weak_ptr<event_stream> weak = shared_from_this();
  conn_->on_closed([weak] {
    if (auto self = weak.lock())
      self->finish(false);
  });
}

bool event_stream::send(std::string_view name, std::string_view data) {
  std::string text;
  text.reserve(name.size() + data.size() + 16);
  text += "event: ";
  text += name;
  text += "\ndata: ";
  for (char c : data)
    text += (c == '\n' || c == '\r') ? ' ' : c;
  text += "\n\n";
  return write(text);
}

bool event_stream::comment(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 4);
  line += ": ";
  for (char c : text)
    line += (c == '\n' || c == '\r') ? ' ' : c;
  line += "\n\n";
  return write(line);
}

bool event_stream::write(std::string_view text) {
  bool ok = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return false;
    // Written under the stream's lock, so that events leave in the order of the calls.
    ok = conn_->write(text, {}, false, max_unsent_bytes);
    if (ok)
      last_write_ns_ = conn_->now_ns();
  }
  if (!ok)
    finish(false); // the connection broke or was cut off: it is shut down already
  return ok;
}

void event_stream::close() {
  finish(true);
}

bool event_stream::closed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return closed_;
}

void event_stream::on_close(std::function<void()> hook) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!closed_) {
      hook_ = std::move(hook);
      return;
    }
  }
  hook();
}

void event_stream::keep_alive(std::int64_t now_ns, std::int64_t interval_ns) {
  if (now_ns - last_write_ns_.load() >= interval_ns)
    comment("keep-alive");
}

void event_stream::finish(bool close_connection) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
    closed_ = true;
    // What was sent is written first (the queue keeps the order), then the connection closes.
    if (close_connection)
      conn_->write({}, {}, true);
    hook = std::move(hook_);
    hook_ = nullptr;
  }
  if (auto registry = registry_.lock())
    registry->remove(this);
  if (hook)
    hook();
}

bool stream_registry::add(const event_stream_ptr& s) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_)
    return false;
  open_.emplace(s.get(), s);
  return true;
}

void stream_registry::remove(const event_stream* s) {
  event_stream_ptr gone; // released outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = open_.find(s);
  if (i != open_.end()) {
    gone = std::move(i->second);
    open_.erase(i);
  }
}

std::size_t stream_registry::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_.size();
}

void stream_registry::keep_alive(std::int64_t now_ns, std::int64_t interval_ns) {
  std::vector<event_stream_ptr> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    all.reserve(open_.size());
    for (auto& [key, s] : open_)
      all.push_back(s);
  }
  for (auto& s : all)
    s->keep_alive(now_ns, interval_ns);
}

void stream_registry::close_all() {
  std::vector<event_stream_ptr> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_ = true;
    for (auto& [key, s] : open_)
      all.push_back(s);
  }
  for (auto& s : all)
    s->close();
}

} // namespace bazaar::gateway
