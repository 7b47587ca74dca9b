#include "drain/response_classifier.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "json/json.hpp"
#include "text/ascii.hpp"

namespace experiture {
namespace drain {
namespace {

using json::Value;

const Value* member(const Value* object, const char* key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  return object->find(key);
}

std::string string_member(const Value* object, const char* key) {
  const Value* value = member(object, key);
  return (value != nullptr && value->is_string()) ? value->text() : std::string();
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Reads 1 to 9 leading digits; nullopt when there are none or more than 9.
std::optional<size_t> leading_number(std::string_view& text) {
  size_t digits = 0;
  size_t value = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    if (++digits > 9) return std::nullopt;
    value = value * 10 + static_cast<size_t>(text[digits - 1] - '0');
  }
  if (digits == 0) return std::nullopt;
  text.remove_prefix(digits);
  return value;
}

// "records[3].email", "records.3", "/records/3/email", "$.records[3]" -> 3; "record",
// "record.email", "/record/email" -> 0 for a one-record request. Anything after the index is
// ignored, so a message "records[2].email: invalid email format" works too.
std::optional<size_t> record_index_from_path(std::string_view path, size_t record_count) {
  path = text::trim(path, text::kHttpSpace);
  if (starts_with(path, "$.")) path.remove_prefix(2);
  if (starts_with(path, "$[") || starts_with(path, "$/")) path.remove_prefix(1);
  if (starts_with(path, "/")) path.remove_prefix(1);
  std::optional<size_t> index;
  if (starts_with(path, "records")) {
    path.remove_prefix(7);
    if (starts_with(path, "[")) {
      path.remove_prefix(1);
      index = leading_number(path);
      if (!index || !starts_with(path, "]")) return std::nullopt;
    } else if (starts_with(path, ".") || starts_with(path, "/")) {
      path.remove_prefix(1);
      index = leading_number(path);
      if (index && !path.empty() && path.front() != '.' && path.front() != '/') {
        return std::nullopt;
      }
    }
  } else if (starts_with(path, "record") && record_count == 1) {
    path.remove_prefix(6);
    if (path.empty() || path.front() == '.' || path.front() == '/' || path.front() == '[') {
      index = 0;
    }
  }
  if (!index || *index >= record_count) return std::nullopt;
  return index;
}

void add_rejection(std::vector<RecordRejection>& out, size_t index, std::string code,
                   std::string message) {
  for (const auto& existing : out) {
    if (existing.index == index) return;
  }
  out.push_back(RecordRejection{index, std::move(code), std::move(message)});
}

void sort_by_index(std::vector<RecordRejection>& rejections) {
  std::sort(rejections.begin(), rejections.end(),
            [](const RecordRejection& a, const RecordRejection& b) { return a.index < b.index; });
}

// An entry naming a record: {"path": ..., optional "code"/"message"}. Its own code and message
// win over the envelope's.
void add_path_entry(const Value& entry, size_t record_count, const Classification& c,
                    std::vector<RecordRejection>& out) {
  const std::string path = string_member(&entry, "path");
  const auto index = record_index_from_path(path, record_count);
  if (!index) return;
  std::string code = string_member(&entry, "code");
  std::string message = string_member(&entry, "message");
  add_rejection(out, *index, code.empty() ? c.code : std::move(code),
                message.empty() ? c.message : std::move(message));
}

std::vector<RecordRejection> rejections_from_error(const Value* error, size_t record_count,
                                                   const Classification& c) {
  std::vector<RecordRejection> out;
  const Value* details = member(error, "details");
  if (details != nullptr && details->is_object()) {
    add_path_entry(*details, record_count, c, out);
    const Value* errors = member(details, "errors");
    if (errors != nullptr && errors->is_array()) {
      for (const Value& entry : errors->elements()) add_path_entry(entry, record_count, c, out);
    }
  } else if (details != nullptr && details->is_array()) {
    for (const Value& entry : details->elements()) add_path_entry(entry, record_count, c, out);
  }
  if (out.empty()) {
    const auto index = record_index_from_path(c.message, record_count);
    if (index) add_rejection(out, *index, c.code, c.message);
  }
  sort_by_index(out);
  return out;
}

// Per-record result statuses that reject the record (also read by body_cannot_reject()).
const char* const kRejectedStatuses[] = {"rejected", "failed", "failure", "error", "invalid"};

// A status we know decides; an unknown or missing status counts as rejected only when the entry
// carries an error (a record the server took must not be dead-lettered and later sent again).
bool is_rejected_result(const Value* status, const Value* error) {
  static const char* const kAccepted[] = {"accepted", "ok",     "success", "created",
                                          "updated",  "merged", "inserted"};
  if (status != nullptr && status->is_string()) {
    const std::string& text = status->text();
    for (const char* name : kAccepted) {
      if (text::equals_ignore_case(text, name)) return false;
    }
    for (const char* name : kRejectedStatuses) {
      if (text::equals_ignore_case(text, name)) return true;
    }
  }
  return error != nullptr && !error->is_null();
}

// ASSUMED A: data.results[] with a status per record.
std::vector<RecordRejection> rejections_from_results(const Value* body, size_t record_count) {
  std::vector<RecordRejection> out;
  const Value* results = member(member(body, "data"), "results");
  if (results == nullptr || !results->is_array()) return out;
  for (size_t position = 0; position < results->size(); ++position) {
    const Value& entry = results->elements()[position];
    if (!entry.is_object()) continue;
    const Value* status = member(&entry, "status");
    const Value* error = member(&entry, "error");
    if (!is_rejected_result(status, error)) continue;
    size_t index = position;
    const Value* index_value = member(&entry, "index");
    const std::optional<uint64_t> unsigned_index =
        index_value != nullptr ? index_value->to_uint64() : std::nullopt;
    if (unsigned_index) {
      if (*unsigned_index >= record_count) continue;
      index = static_cast<size_t>(*unsigned_index);
    } else if (index_value != nullptr) {
      continue;  // an index we cannot read: do not guess which record it meant
    }
    if (index >= record_count) continue;
    add_rejection(out, index, string_member(error, "code"), string_member(error, "message"));
  }
  sort_by_index(out);
  return out;
}

const char* transport_code(platform::TransportError error) {
  switch (error) {
    case platform::TransportError::kNone:
      return "";
    case platform::TransportError::kConnect:
      return "NETWORK.CONNECT";
    case platform::TransportError::kTimeout:
      return "NETWORK.TIMEOUT";
    case platform::TransportError::kTls:
      return "NETWORK.TLS";
    case platform::TransportError::kPinning:
      return "NETWORK.PINNING";
    case platform::TransportError::kReset:
      return "NETWORK.RESET";
    case platform::TransportError::kCancelled:
      return "NETWORK.CANCELLED";
    case platform::TransportError::kOther:
      return "NETWORK.OTHER";
    case platform::TransportError::kDns:
      return "NETWORK.DNS";
  }
  return "NETWORK.OTHER";
}

Classification classify_http(const platform::HttpResponse& response, size_t record_count,
                             int64_t now_wall_ms, bool allow_fast_path) {
  Classification c;
  c.http_status = response.status;
  if (allow_fast_path && response.status >= 200 && response.status < 300) {
    c.correlation_id = response.header("x-correlation-id");
    if (!c.correlation_id.empty() && body_cannot_reject(response.body) &&
        response.body.find("false") == std::string::npos && body_is_closed_object(response.body) &&
        json::accept(response.body)) {
      c.outcome = Outcome::kDelivered;
      const std::string date = response.header("date");
      if (!date.empty()) c.server_date_ms = parse_http_date_ms(date);
      return c;
    }
  }
  // A server's body: a key twice keeps the last one, as most parsers do; not JSON is null.
  json::ParseOptions lenient;
  lenient.refuse_duplicate_keys = false;
  Value body;
  json::parse(response.body, &body, nullptr, lenient);
  const Value* error = member(&body, "error");
  c.code = string_member(error, "code");
  c.message = string_member(error, "message");
  c.correlation_id = response.header("x-correlation-id");
  if (c.correlation_id.empty()) c.correlation_id = string_member(&body, "correlationId");
  const std::string date = response.header("date");
  if (!date.empty()) c.server_date_ms = parse_http_date_ms(date);

  const int status = response.status;
  const auto retry_after = [&] {
    const std::string value = response.header("retry-after");
    return parse_retry_after_ms(value, now_wall_ms).value_or(-1);
  };
  const auto reject_single_or = [&](Outcome otherwise) {
    if (record_count != 1) return otherwise;
    c.rejected.push_back(RecordRejection{0, c.code, c.message});
    return Outcome::kRejectRecords;
  };
  if (status >= 200 && status < 300) {
    // ASSUMED (docs/api.md "ASSUMED B", made precise here, the one place for it): a 2xx proves
    // delivery only with a readable success envelope: a JSON object whose "success" is not
    // false. Anything else (a captive portal's HTML, a truncated body, an empty 200 or 204) is
    // no proof: the batch stays and is re-sent with the same key and bytes, which the server
    // replays if it did apply it.
    const Value* success = member(&body, "success");
    if (!body.is_object() || (success != nullptr && success->is_bool() && !success->boolean())) {
      c.outcome = Outcome::kUnreadable;
      if (c.message.empty()) {
        c.message = response.body.empty()
                        ? "empty body: no proof of delivery"
                        : "body is not a readable JSON success envelope: no proof of delivery";
      }
      if (c.code.empty()) c.code = "RESPONSE.UNREADABLE";
      return c;
    }
    c.outcome = Outcome::kDelivered;
    c.rejected = rejections_from_results(&body, record_count);
  } else if (status == 400 || status == 422) {
    c.rejected = rejections_from_error(error, record_count, c);
    c.outcome = c.rejected.empty() ? reject_single_or(Outcome::kBisect) : Outcome::kRejectRecords;
  } else if (status == 401) {
    c.outcome = Outcome::kUnauthorized;
  } else if (status == 403) {
    c.outcome = Outcome::kForbidden;
  } else if (status == 404) {
    c.outcome = Outcome::kDeadLetterAll;
  } else if (status == 409) {
    c.outcome = Outcome::kRetry;
  } else if (status == 413) {
    c.outcome = reject_single_or(Outcome::kSplit);
  } else if (status == 429) {
    c.outcome = Outcome::kRateLimited;
    c.retry_after_ms = retry_after();
  } else if (status >= 500 && status < 600) {
    c.outcome = Outcome::kRetry;
    if (status == 503) c.retry_after_ms = retry_after();
  } else if (status >= 400 && status < 500) {
    c.outcome = Outcome::kDeadLetterAll;
  } else {
    c.outcome = Outcome::kRetry;
  }
  return c;
}

}  // namespace

bool body_cannot_reject(std::string_view body) {
  if (body.find('\\') != std::string_view::npos) return false;
  // A status word counts only as a whole string ("rejectedRecords" is not one); "error" is also
  // the member's name.
  const auto quoted_at = [body](size_t quote, const char* word) {
    if (quote + 1 >= body.size() ||
        std::tolower(static_cast<unsigned char>(body[quote + 1])) != word[0]) {
      return false;
    }
    const size_t n = std::strlen(word);
    return quote + n + 1 < body.size() && body[quote + n + 1] == '"' &&
           text::equals_ignore_case(body.substr(quote + 1, n), word);
  };
  for (size_t i = body.find('"'); i != std::string_view::npos; i = body.find('"', i + 1)) {
    if (quoted_at(i, "error")) return false;
    for (const char* word : kRejectedStatuses) {
      if (quoted_at(i, word)) return false;
    }
  }
  return true;
}

bool body_is_closed_object(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '{') return false;
  const size_t last = body.find_last_not_of(" \t\r\n");
  int depth = 0;
  bool in_string = false;
  for (size_t i = first; i <= last; ++i) {
    const char ch = body[i];
    if (in_string) {
      if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      ++depth;
    } else if (ch == '}' || ch == ']') {
      if (--depth < 0) return false;
      if (depth == 0) return i == last;
    }
  }
  return false;
}

Classification classify_response(const platform::HttpResponse& response, size_t record_count,
                                 int64_t now_wall_ms, bool allow_fast_path) {
  if (response.error != platform::TransportError::kNone) {
    Classification c;
    c.outcome = Outcome::kRetry;
    c.code = transport_code(response.error);
    c.message = response.error_message;
    return c;
  }
  try {
    return classify_http(response, record_count, now_wall_ms, allow_fast_path);
  } catch (...) {
    // Not expected (the parser runs without exceptions and every access is type-checked), but a
    // classifier must not take the drain loop down: an unreadable answer is retried.
    Classification c;
    c.outcome = Outcome::kRetry;
    c.http_status = response.status;
    c.message = "response could not be classified";
    return c;
  }
}

std::optional<int64_t> parse_retry_after_ms(std::string_view value, int64_t now_wall_ms) {
  value = text::trim(value, text::kHttpSpace);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t ms = 0;
    size_t i = 0;
    for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i) {
      ms = std::min(kMaxRetryAfterMs, ms * 10 + (value[i] - '0') * 1000);
    }
    if (i < value.size() && value[i] == '.') {
      int64_t scale = 100;
      bool round_up = false;
      if (++i == value.size()) return std::nullopt;
      for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i) {
        if (scale > 0) {
          ms += (value[i] - '0') * scale;
          scale /= 10;
        } else if (value[i] != '0') {
          round_up = true;
        }
      }
      if (round_up) ++ms;
    }
    if (i != value.size()) return std::nullopt;
    return std::min(kMaxRetryAfterMs, ms);
  }
  const auto date_ms = parse_http_date_ms(value);
  if (!date_ms) return std::nullopt;
  if (*date_ms <= now_wall_ms) return 0;
  // date_ms is a year 1900..9999 value, so date_ms - kMaxRetryAfterMs cannot overflow.
  if (*date_ms - kMaxRetryAfterMs > now_wall_ms) return kMaxRetryAfterMs;
  return *date_ms - now_wall_ms;
}

}  // namespace drain
}  // namespace experiture
