// Client::Impl: the facade. It validates on the app's thread (records, identity, consent,
// config) and posts to the store thread (store_thread.hpp), which owns the outbox, runs the
// drain loop and holds the waits.
//
// Locking: identity_mutex_ serialises identity operations; identity_ is guarded by
// identity_state_mutex_ (taken alone). Neither is held while waiting for the store thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/store_inbox.hpp"
#include "client/store_thread.hpp"
#include "crypto/random.hpp"
#include "crypto/sealer.hpp"
#include "drain/drain_loop.hpp"
#include "experiture/client.hpp"
#include "identity/identity.hpp"
#include "outbox/outbox.hpp"
#include "record/record_validator.hpp"

namespace experiture {

class EXPERITURE_HIDDEN Client::Impl {
 public:
  explicit Impl(Config config);
  ~Impl();

  Status open();

  // Client::unwritable_record(): a JSON document the app passed could not be written as text.
  Status unwritable_record(std::string_view object, bool is_object, bool is_empty,
                           const std::string& field);
  // The same from record text: valid records skip the DOM (RecordValidator::upsert_text).
  Status upsert_text(std::string_view object, std::string_view record_json,
                     std::string_view match_key);
  Status append_text(std::string_view object, std::string_view record_json);
  Status set_push_token(std::string_view token);
  Status login(const LoginInfo& info);
  Status logout();
  std::string device_id() const;
  Status set_consent(Consent consent);
  Consent consent() const;
  Status persist(int64_t timeout_ms);
  Status flush(int64_t timeout_ms);
  Status close(int64_t timeout_ms);
  Status pump();
  // True on the thread running this client's store work (the store thread, or a pump() in
  // manual mode): inside the listener, the token provider, or an HTTP send made by the SDK.
  bool in_callback() const;
  // ~Client called from one of this client's own callbacks: the store thread cannot join or
  // delete itself there, so it closes, and the Impl deletes itself when its store work returns.
  void destroy_after_callback(std::unique_ptr<Impl> self);
  // Runs `change` on the store thread at its next round (after that round's commit) and wakes
  // it. With `flush`, everything committed by then is then sent at once, without waiting for a
  // full batch or the flush interval (on_background()). Any thread; never waits.
  void hint(std::function<void(drain::DrainLoop&)> change, bool flush);
  Stats stats() const;
  Result<std::vector<DeadLetter>> dead_letters(size_t limit);
  Status retry_dead_letters();
  Status purge_dead_letters();

 private:
  using IngressItem = client::IngressItem;

  // kWrongState for a waiting `call` made inside one of this client's callbacks.
  static Status inside_callback_status(const char* call);
  Status check_open() const;
  // logout() with identity_mutex_ already held by the caller.
  Status logout_locked();
  Status accept(std::string_view object, outbox::WriteKind kind, std::string_view match_key,
                Result<std::string> payload);
  outbox::Entry make_entry(std::string_view object, outbox::WriteKind kind,
                           std::string_view match_key, std::string payload, uint32_t flags);
  Status enqueue(std::vector<IngressItem> items);
  // Queues identity writes with `state` persisted alongside; on success it becomes identity_.
  Status enqueue_identity(std::vector<IngressItem> items, const identity::IdentityState& state);
  Status validated_profile_write(const identity::ProfileWrite& write, uint32_t flags,
                                 std::vector<IngressItem>& out);
  std::string now_iso8601();
  identity::IdentityState identity() const;

  // Immutable after open().
  Config config_;
  std::shared_ptr<platform::Clock> clock_;
  std::shared_ptr<platform::HttpClient> http_;
  std::unique_ptr<record::RecordValidator> validator_;
  std::unique_ptr<crypto::Random> random_;
  std::unique_ptr<crypto::Sealer> sealer_;           // when config_.encryption_key is set
  std::unique_ptr<crypto::Sealer> previous_sealer_;  // key rotation: opens older rows
  identity::IdentityOptions identity_options_;

  std::mutex identity_mutex_;
  mutable std::mutex identity_state_mutex_;
  identity::IdentityState identity_;  // guarded by identity_state_mutex_

  // Set by open() once the outbox is open; the facade's calls need it (Client::open returns
  // no client without it).
  std::unique_ptr<client::StoreThread> store_;
};

}  // namespace experiture
