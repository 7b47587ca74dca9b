#include "bench_support.hpp"

#include <curl/curl.h>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "emulator_process.hpp"

namespace experiture {
namespace bench {

std::string Context::endpoint() const {
  return emulator->base_url() + "/public/v1";
}

std::string Context::fresh_path(const std::string& stem) {
  return work_dir + "/" + stem + "-" + std::to_string(++next_file_) + ".db";
}

std::string make_record(uint64_t profile, uint64_t run) {
  const std::string id = std::to_string(run) + "-" + std::to_string(profile);
  nlohmann::json r = {
      {"email", " User." + id + "@Example.com"},  // trimmed and lower-cased by the SDK
      {"customer_id", "c-" + id},
      {"first_name", "Alexandra"},
      {"last_name", "Johnson-Smith"},
      {"city", "Springfield"},
      {"country", "US"},
      {"tier", "premium-annual"},
      {"device_model", "Lobby kiosk #7, north entrance"},
  };
  return r.dump();
}

std::string stored_form(const std::string& record_json) {
  auto r = nlohmann::json::parse(record_json);
  std::string email = r["email"].get<std::string>();
  email.erase(0, email.find_first_not_of(' '));
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  r["email"] = email;
  return r.dump();
}

std::string batch_body(const std::vector<std::string>& stored_records) {
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < stored_records.size(); ++i) {
    if (i > 0) body += ',';
    body += stored_records[i];
  }
  body += "],\"matchKey\":\"email\"}";
  return body;
}

Config bench_config(const std::string& path, const std::string& endpoint) {
  Config config;
  config.storage_path = path;
  config.endpoint = endpoint;
  config.token = kToken;
  return config;
}

uint64_t upsert_as_app(Client& client, const std::string& record) {
  uint64_t full = 0;
  for (;;) {
    Status s = client.upsert(kObject, std::string_view(record), kMatchKey);
    if (s.is_ok()) return full;
    if (s.code() != Code::kQueueFull) die("upsert failed: " + s.to_string());
    ++full;
    Status persisted = client.persist(120000);
    if (!persisted.is_ok()) die("persist after QUEUE_FULL failed: " + persisted.to_string());
  }
}

std::unique_ptr<Client> open_client(Config config) {
  auto client = Client::open(std::move(config));
  if (!client.is_ok()) die("Client::open failed: " + client.status().to_string());
  return std::move(client).value();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

uint64_t percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleep_ms(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::vector<int> thread_ids() {
  std::vector<int> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(std::atoi(e->d_name));
  }
  closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<int, ThreadSwitches> thread_switches(const std::vector<int>& tids) {
  std::map<int, ThreadSwitches> out;
  for (int tid : tids) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string line;
    ThreadSwitches s;
    while (std::getline(in, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        s.voluntary = std::stoull(line.substr(line.find(':') + 1));
      } else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        s.involuntary = std::stoull(line.substr(line.find(':') + 1));
      }
    }
    out[tid] = s;
  }
  return out;
}

uint64_t peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string capture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  if (user != nullptr) static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

}  // namespace

HttpProbe::HttpProbe() : curl_(curl_easy_init()), headers_(nullptr) {
  if (curl_ == nullptr) die("curl_easy_init failed");
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, (std::string("Authorization: Bearer ") + kToken).c_str());
  h = curl_slist_append(h, "Expect:");
  headers_ = h;
}

HttpProbe::~HttpProbe() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

long HttpProbe::post(const std::string& url, const std::string& body,
                     const std::string& idempotency_key, std::string* response) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_slist* headers = static_cast<curl_slist*>(headers_);
  curl_slist* extra = nullptr;
  if (!idempotency_key.empty()) {
    for (curl_slist* h = headers; h != nullptr; h = h->next)
      extra = curl_slist_append(extra, h->data);
    extra = curl_slist_append(extra, ("Idempotency-Key: " + idempotency_key).c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, extra != nullptr ? extra : headers);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(extra);
  return status;
}

long HttpProbe::get(const std::string& url, std::string* response) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

void reset_emulator(const Context& ctx) {
  HttpProbe probe;
  if (probe.post(ctx.emulator->base_url() + "/_emulator/reset", "{}", "") != 200) {
    die("emulator reset failed");
  }
}

uint64_t emulator_requests(const Context& ctx) {
  HttpProbe probe;
  std::string body;
  if (probe.get(ctx.emulator->base_url() + "/_emulator/counters", &body) != 200) {
    die("emulator counters failed");
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.contains("data")) j = j["data"];
  return j.value("requests", uint64_t{0});
}

void die(const std::string& message) {
  std::cerr << "experiture-bench: " << message << "\n";
  std::exit(2);
}

}  // namespace bench
}  // namespace experiture
