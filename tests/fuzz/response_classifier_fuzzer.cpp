// libFuzzer target: the server-response parser (drain::classify_response, Retry-After and
// HTTP-date parsing). Input: 2 bytes status, 1 byte record count, 1 byte transport error, then
// "retry-after\ndate\nbody"; the count byte's high bit adds an x-correlation-id header. Aborts
// when a documented invariant of Classification breaks, or when the unparsed 2xx path and a
// full parse disagree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "drain/response_classifier.hpp"

namespace {

constexpr int64_t kNowWallMs = 1767225600000;  // 2026-01-01T00:00:00Z

void require(bool condition) {
  if (!condition) std::abort();
}

std::string_view take_line(std::string_view& rest) {
  const size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace experiture;
  if (size < 4) return 0;
  platform::HttpResponse response;
  response.status = (data[0] << 8 | data[1]) % 700;
  const size_t record_count = 1 + data[2] % 64;
  // Every kind: kDns is the last one (TransportError values are append-only).
  response.error = static_cast<platform::TransportError>(
      data[3] % (static_cast<int>(platform::TransportError::kDns) + 1));
  if (response.error != platform::TransportError::kNone) response.status = 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  const std::string_view retry_after = take_line(rest);
  const std::string_view date = take_line(rest);
  if (!retry_after.empty()) response.headers.emplace_back("retry-after", std::string(retry_after));
  if (!date.empty()) response.headers.emplace_back("date", std::string(date));
  response.headers.emplace_back("content-type", "application/json");
  if (data[2] & 0x80) response.headers.emplace_back("x-correlation-id", "cid");
  response.body.assign(rest.data(), rest.size());

  const drain::Classification c = drain::classify_response(response, record_count, kNowWallMs);
  // The unparsed 2xx path must agree with a full parse on every field.
  const drain::Classification full =
      drain::classify_response(response, record_count, kNowWallMs, /*allow_fast_path=*/false);
  require(c.outcome == full.outcome && c.http_status == full.http_status && c.code == full.code &&
          c.message == full.message && c.correlation_id == full.correlation_id &&
          c.retry_after_ms == full.retry_after_ms && c.server_date_ms == full.server_date_ms &&
          c.rejected.size() == full.rejected.size());
  for (size_t i = 0; i < c.rejected.size(); ++i) {
    require(c.rejected[i].index == full.rejected[i].index &&
            c.rejected[i].code == full.rejected[i].code &&
            c.rejected[i].message == full.rejected[i].message);
  }
  require(c.retry_after_ms >= -1 && c.retry_after_ms <= drain::kMaxRetryAfterMs);
  for (size_t i = 0; i < c.rejected.size(); ++i) {
    require(c.rejected[i].index < record_count);
    if (i > 0) require(c.rejected[i - 1].index < c.rejected[i].index);
  }
  if (c.outcome == drain::Outcome::kRejectRecords) require(!c.rejected.empty());

  if (auto ms = drain::parse_retry_after_ms(retry_after, kNowWallMs)) {
    require(*ms >= 0 && *ms <= drain::kMaxRetryAfterMs);
  }
  drain::parse_http_date_ms(date);
  return 0;
}
