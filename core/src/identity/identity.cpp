#include "identity/identity.hpp"

namespace experiture {
namespace identity {
namespace {

constexpr const char* kDeviceId = "identity.device_id";
constexpr const char* kPushToken = "identity.push_token";
constexpr const char* kEmail = "identity.email";
constexpr const char* kCustomerId = "identity.customer_id";
constexpr const char* kPhone = "identity.phone";

void put_user_keys(json::Value& record, const IdentityState& state) {
  if (!state.email.empty()) record.set("email", state.email);
  if (!state.customer_id.empty()) record.set("customer_id", state.customer_id);
  if (!state.phone.empty()) record.set("phone", state.phone);
}

}  // namespace

IdentityState load_identity(const outbox::Outbox& outbox) {
  IdentityState state;
  state.device_id = outbox.meta(kDeviceId).value_or("");
  state.push_token = outbox.meta(kPushToken).value_or("");
  state.email = outbox.meta(kEmail).value_or("");
  state.customer_id = outbox.meta(kCustomerId).value_or("");
  state.phone = outbox.meta(kPhone).value_or("");
  return state;
}

outbox::MetaUpdates identity_meta(const IdentityState& state) {
  auto value = [](const std::string& v) -> std::optional<std::string> {
    if (v.empty()) return std::nullopt;
    return v;
  };
  return {{kDeviceId, value(state.device_id)},
          {kPushToken, value(state.push_token)},
          {kEmail, value(state.email)},
          {kCustomerId, value(state.customer_id)},
          {kPhone, value(state.phone)}};
}

std::string strongest_user_key(const IdentityState& state) {
  if (!state.customer_id.empty()) return "customer_id";
  if (!state.email.empty()) return "email";
  if (!state.phone.empty()) return "phone";
  return std::string();
}

ProfileWrite anonymous_profile(const IdentityState& state, const IdentityOptions& options,
                               const std::string& now_iso8601) {
  ProfileWrite write;
  write.match_key = "device_id";
  write.record = json::Value::object({{"device_id", state.device_id},
                                      {"platform", options.platform_name},
                                      {"sdk_version", options.sdk_version},
                                      {"last_seen_at", now_iso8601}});
  if (!state.push_token.empty()) write.record.set("push_token", state.push_token);
  return write;
}

ProfileWrite push_token_write(const IdentityState& state) {
  ProfileWrite write;
  const std::string key = strongest_user_key(state);
  if (key.empty()) {
    write.match_key = "device_id";
    write.record = json::Value::object({{"device_id", state.device_id}});
  } else {
    write.match_key = key;
    put_user_keys(write.record, state);
    write.record.set("device_id", state.device_id);
  }
  if (state.push_token.empty()) {
    write.record.set("push_token", nullptr);
  } else {
    write.record.set("push_token", state.push_token);
  }
  return write;
}

ProfileWrite login_write(const IdentityState& state, const std::string& now_iso8601) {
  ProfileWrite write;
  if (!state.email.empty()) {
    write.match_key = "email";
  } else if (!state.customer_id.empty()) {
    write.match_key = "customer_id";
  } else {
    write.match_key = "phone";
  }
  put_user_keys(write.record, state);
  write.record.set("device_id", state.device_id);
  if (!state.push_token.empty()) write.record.set("push_token", state.push_token);
  write.record.set("last_login_at", now_iso8601);
  return write;
}

std::vector<ProfileWrite> logout_writes(const IdentityState& state,
                                        const IdentityOptions& options) {
  std::vector<ProfileWrite> writes;
  const std::string key = strongest_user_key(state);
  if (options.logout_clears_push_token && !key.empty() && !state.push_token.empty()) {
    // The device keeps its token; the user's profile must stop receiving pushes for it.
    ProfileWrite write;
    write.match_key = key;
    put_user_keys(write.record, state);
    write.record.set("push_token", nullptr);
    writes.push_back(std::move(write));
  }
  return writes;
}

}  // namespace identity
}  // namespace experiture
