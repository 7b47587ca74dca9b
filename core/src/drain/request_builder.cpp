#include "drain/request_builder.hpp"
#include "json/json.hpp"

#include "text/ascii.hpp"

#ifndef EXPERITURE_SDK_VERSION
#define EXPERITURE_SDK_VERSION "0.0.0"
#endif

namespace experiture {
namespace drain {
namespace {

constexpr char kRecordsOpen[] = R"({"records":[)";
constexpr char kRecordOpen[] = R"({"record":)";
constexpr char kMatchKeyAfterArray[] = R"(],"matchKey":)";
constexpr char kMatchKeyAfterRecord[] = R"(,"matchKey":)";
constexpr char kArrayClose[] = "]}";
constexpr char kObjectClose[] = "}";

constexpr size_t length_of(const char* text) {
  return std::char_traits<char>::length(text);
}

bool is_single_upsert(BatchKind kind, size_t record_count) {
  return kind == BatchKind::kUpsert && record_count == 1;
}

std::string json_string(const std::string& text) {
  // Replacement instead of an exception for invalid UTF-8: match keys are validated field
  // names, so this only guards against a bug upstream.
  return json::quote(text);
}

bool is_unreserved(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

std::string percent_encode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (is_unreserved(ch)) {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 0x0F]);
    }
  }
  return out;
}

// Printable ASCII without space, or any byte >= 0x80; no CR, LF, NUL, DEL or other controls.
bool is_header_token(const std::string& value) {
  if (value.empty()) return false;
  for (unsigned char ch : value) {
    if (ch <= 0x20 || ch == 0x7F) return false;
  }
  return true;
}

}  // namespace

std::string batch_url(const std::string& base_url, const std::string& object, BatchKind kind,
                      size_t record_count) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/records/";
  url += percent_encode(object);
  if (kind == BatchKind::kAppend) {
    url += "/append-batch";
  } else {
    url += record_count == 1 ? "/upsert" : "/upsert-batch";
  }
  return url;
}

size_t body_size_for(BatchKind kind, size_t record_count, size_t records_total_bytes,
                     const std::string& match_key) {
  if (is_single_upsert(kind, record_count)) {
    return length_of(kRecordOpen) + records_total_bytes + length_of(kMatchKeyAfterRecord) +
           json_string(match_key).size() + length_of(kObjectClose);
  }
  const size_t commas = record_count == 0 ? 0 : record_count - 1;
  const size_t frame = length_of(kRecordsOpen) + commas;
  if (kind == BatchKind::kAppend) return frame + records_total_bytes + length_of(kArrayClose);
  return frame + records_total_bytes + length_of(kMatchKeyAfterArray) +
         json_string(match_key).size() + length_of(kObjectClose);
}

size_t body_size_for(BatchKind kind, const std::vector<std::string>& record_jsons,
                     const std::string& match_key) {
  size_t total = 0;
  for (const auto& record : record_jsons) total += record.size();
  return body_size_for(kind, record_jsons.size(), total, match_key);
}

std::string build_body(BatchKind kind, const std::vector<std::string>& record_jsons,
                       const std::string& match_key) {
  std::string body;
  body.reserve(body_size_for(kind, record_jsons, match_key));
  if (is_single_upsert(kind, record_jsons.size())) {
    body += kRecordOpen;
    body += record_jsons.front();
    body += kMatchKeyAfterRecord;
    body += json_string(match_key);
    body += kObjectClose;
    return body;
  }
  body += kRecordsOpen;
  for (size_t i = 0; i < record_jsons.size(); ++i) {
    if (i > 0) body += ',';
    body += record_jsons[i];
  }
  if (kind == BatchKind::kAppend) {
    body += kArrayClose;
  } else {
    body += kMatchKeyAfterArray;
    body += json_string(match_key);
    body += kObjectClose;
  }
  return body;
}

std::string user_agent() {
  return std::string("experiture-sdk/") + EXPERITURE_SDK_VERSION;
}

Result<platform::HttpRequest> build_request(const std::string& base_url, const std::string& object,
                                            BatchKind kind, size_t record_count,
                                            const std::string& body, const std::string& token,
                                            const std::string& idempotency_key) {
  const std::string bearer(text::trim(token, " \t\r\n"));
  if (!is_header_token(bearer)) {
    return Status(Code::kUnauthorized,
                  bearer.empty() ? "no access token" : "access token holds invalid characters");
  }
  if (!is_header_token(idempotency_key)) {
    return Status(Code::kInvalidArgument, "idempotency key is empty or holds invalid characters");
  }
  platform::HttpRequest request;
  request.method = "POST";
  request.url = batch_url(base_url, object, kind, record_count);
  request.body = body;
  request.headers = {
      {"Content-Type", "application/json"},  {"Accept", "application/json"},
      {"Authorization", "Bearer " + bearer}, {"Idempotency-Key", idempotency_key},
      {"User-Agent", user_agent()},
  };
  return request;
}

}  // namespace drain
}  // namespace experiture
