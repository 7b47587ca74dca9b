// Device and user identity: what the SDK remembers (device_id, push token, user keys) and the
// profile writes each identity event produces. Pure logic: the client validates, queues and
// persists what it returns.
#pragma once

#include <string>
#include <vector>

#include "json/json.hpp"

#include "outbox/outbox.hpp"

namespace experiture {
namespace identity {

struct IdentityState {
  std::string device_id;
  std::string push_token;
  std::string email;  // normalised
  std::string customer_id;
  std::string phone;  // E.164

  bool logged_in() const { return !email.empty() || !customer_id.empty() || !phone.empty(); }
};

// One upsert to the profile object.
struct ProfileWrite {
  json::Value record;
  std::string match_key;
};

struct IdentityOptions {
  std::string platform_name;
  std::string sdk_version;
  bool logout_clears_push_token = true;
  bool logout_new_device_id = true;
};

// Meta keys under which the state is persisted in the outbox.
IdentityState load_identity(const outbox::Outbox& outbox);
outbox::MetaUpdates identity_meta(const IdentityState& state);

// The strongest user key of a logged-in state: customer_id, then email, then phone; "" when
// anonymous.
std::string strongest_user_key(const IdentityState& state);

// {device_id, platform, sdk_version, last_seen_at[, push_token]} keyed by device_id.
ProfileWrite anonymous_profile(const IdentityState& state, const IdentityOptions& options,
                               const std::string& now_iso8601);

// The push token write for `state` (whose push_token is already the new value), on the current
// profile: keyed by device_id when anonymous, by the strongest user key when logged in.
ProfileWrite push_token_write(const IdentityState& state);

// The login link: user keys + device_id (+ push_token) + last_login_at, keyed by email when
// present, else customer_id, else phone.
ProfileWrite login_write(const IdentityState& state, const std::string& now_iso8601);

// Writes made at logout, before the state is cleared: push_token: null on the user's profile
// when configured and a token is set.
std::vector<ProfileWrite> logout_writes(const IdentityState& state, const IdentityOptions& options);

}  // namespace identity
}  // namespace experiture
