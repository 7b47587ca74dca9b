#include "experiture/client.hpp"

#include <exception>

#include "client/client_impl.hpp"
#include "record/record_validator.hpp"

namespace experiture {
namespace {

// No exception escapes the public API: one guard at the boundary.
template <typename F>
Status guarded(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status(Code::kInternal, "out of memory");
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("unexpected error: ") + e.what());
  }
}

}  // namespace

Result<std::unique_ptr<Client>> Client::open(Config config) {
  std::unique_ptr<Impl> impl;
  Status status = guarded([&] {
    impl = std::make_unique<Impl>(std::move(config));
    return impl->open();
  });
  if (!status.is_ok()) return status;
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  // From inside one of this client's own callbacks the store thread cannot join or delete
  // itself: it closes and the Impl deletes itself when the callback's store work returns.
  if (impl_ && impl_->in_callback()) {
    Impl* impl = impl_.get();
    impl->destroy_after_callback(std::move(impl_));
  }
}

Status Client::upsert(std::string_view object, std::string_view record_json,
                      std::string_view match_key) {
  return guarded([&] { return impl_->upsert_text(object, record_json, match_key); });
}

Status Client::unwritable_record(std::string_view object, bool is_object, bool is_empty,
                                 const std::string& field) {
  return guarded([&] { return impl_->unwritable_record(object, is_object, is_empty, field); });
}

Status Client::append(std::string_view object, std::string_view record_json) {
  return guarded([&] { return impl_->append_text(object, record_json); });
}

Status Client::set_push_token(std::string_view token) {
  return guarded([&] { return impl_->set_push_token(token); });
}

Status Client::login(const LoginInfo& info) {
  return guarded([&] { return impl_->login(info); });
}

Status Client::logout() {
  return guarded([&] { return impl_->logout(); });
}

std::string Client::device_id() const {
  return impl_->device_id();
}

Status Client::set_consent(Consent consent) {
  return guarded([&] { return impl_->set_consent(consent); });
}

Consent Client::consent() const {
  return impl_->consent();
}

Status Client::persist(int64_t timeout_ms) {
  return guarded([&] { return impl_->persist(timeout_ms); });
}

Status Client::flush(int64_t timeout_ms) {
  return guarded([&] { return impl_->flush(timeout_ms); });
}

Status Client::close(int64_t timeout_ms) {
  return guarded([&] { return impl_->close(timeout_ms); });
}

Status Client::pump() {
  return guarded([&] { return impl_->pump(); });
}

void Client::on_background() {
  impl_->hint([](drain::DrainLoop&) {}, true);
}

void Client::on_foreground() {
  // Wakes the store thread: whatever became due while the app slept is sent now.
  impl_->hint([](drain::DrainLoop&) {}, false);
}

void Client::set_online(bool online) {
  impl_->hint([online](drain::DrainLoop& d) { d.set_online(online); }, false);
}

void Client::pause() {
  impl_->hint([](drain::DrainLoop& d) { d.set_app_paused(true); }, false);
}

void Client::resume() {
  impl_->hint([](drain::DrainLoop& d) { d.set_app_paused(false); }, false);
}

Stats Client::stats() const {
  return impl_->stats();
}

Result<std::vector<DeadLetter>> Client::dead_letters(size_t limit) {
  Result<std::vector<DeadLetter>> result(Status(Code::kInternal, ""));
  Status status = guarded([&] {
    result = impl_->dead_letters(limit);
    return Status::ok();
  });
  if (!status.is_ok()) return status;
  return result;
}

Status Client::retry_dead_letters() {
  return guarded([&] { return impl_->retry_dead_letters(); });
}

Status Client::purge_dead_letters() {
  return guarded([&] { return impl_->purge_dead_letters(); });
}

}  // namespace experiture
