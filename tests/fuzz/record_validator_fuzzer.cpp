// libFuzzer target: record validation + identifier normalisation (record::RecordValidator) with
// the default PhoneNormalizer. Input: 1 byte selecting the match key and write kind, then the
// record's JSON text. Aborts when normalisation is not idempotent (a normalised record must
// validate again to the same bytes), when an accepted record is not a compact JSON object, or when
// the single-pass text path (upsert_text/append_text) disagrees with parse + upsert/append in
// status, message or stored bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "record/record_validator.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

const experiture::record::RecordValidator& validator() {
  static const auto* instance = new experiture::record::RecordValidator(
      experiture::record::RecordValidator::Rules(), nullptr);
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using experiture::record::RecordValidator;
  if (size < 1) return 0;
  static const char* const kMatchKeys[] = {"email",     "phone", "customer_id",
                                           "device_id", "tier",  ""};
  const char* match_key = kMatchKeys[data[0] % 6];
  const bool append = (data[0] & 0x80) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  RecordValidator::normalize_email(text);
  validator().normalize_phone(text);
  auto fast = append ? validator().append_text("events", text)
                     : validator().upsert_text("profiles", text, match_key);
  auto parsed = RecordValidator::parse(text);
  if (!parsed.is_ok()) {
    require(fast.status().code() == parsed.status().code() &&
            fast.status().message() == parsed.status().message());
    return 0;
  }
  auto first = append ? validator().append("events", parsed.value())
                      : validator().upsert("profiles", parsed.value(), match_key);
  require(fast.status().code() == first.status().code() &&
          fast.status().message() == first.status().message());
  if (!first.is_ok()) return 0;
  require(fast.value() == first.value());
  auto reparsed = RecordValidator::parse(first.value());
  require(reparsed.is_ok() && reparsed.value().is_object());
  require(reparsed.value().dump() == first.value());
  auto second = append ? validator().append("events", std::move(reparsed).value())
                       : validator().upsert("profiles", std::move(reparsed).value(), match_key);
  require(second.is_ok() && second.value() == first.value());
  return 0;
}
