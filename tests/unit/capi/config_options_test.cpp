// The configuration table (experiture/config_options.inc) against everything that spells the
// options: the C setters, their defaults in Config, the Java builder and the Swift config. An
// option added in one place and not the others fails here (or, for a missing C setter, fails to
// compile). The JNI glue makes its setters from the table itself; the Java test ConfigOptionsTest
// checks the builder against that compiled table by reflection.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "experiture/config.hpp"
#include "experiture/experiture.h"

namespace {

using experiture::Config;

struct Option {
  std::string name;
  std::string kind;
  std::string default_text;
  std::string java;  // space-separated method names, "" = not in Java
  std::string swift;
  std::string core_default;  // Config{}'s value, described like default_text
};

// The C setter's type per kind; a row whose setter is missing or has another signature does not
// compile.
template <typename T>
using Setter = experiture_status_t (*)(experiture_config_t*, T);
using StringSetter = experiture_status_t (*)(experiture_config_t*, const char*, size_t);
using BytesSetter = experiture_status_t (*)(experiture_config_t*, const void*, size_t);
using ObjectKeysSetter = experiture_status_t (*)(experiture_config_t*, const char*, size_t,
                                                 const char*, size_t);
using RetrySetter = experiture_status_t (*)(experiture_config_t*, int64_t, double, int64_t);
#define SETTER_TYPE_STRING(name) StringSetter
#define SETTER_TYPE_KEYS(name) StringSetter
#define SETTER_TYPE_BYTES(name) BytesSetter
#define SETTER_TYPE_SIZE(name) Setter<size_t>
#define SETTER_TYPE_MS(name) Setter<int64_t>
#define SETTER_TYPE_FLAG(name) Setter<int>
#define SETTER_TYPE_CONSENT(name) Setter<experiture_consent_t>
#define SETTER_TYPE_OBJECT_KEYS(name) ObjectKeysSetter
#define SETTER_TYPE_RETRY(name) RetrySetter
#define SETTER_TYPE_TABLE(name) Setter<const experiture_##name##_t*>
#define EXPERITURE_CONFIG_OPTION(name, kind, member, default_text, java, swift, doc)          \
  static_assert(                                                                              \
      std::is_same<decltype(&experiture_config_set_##name), SETTER_TYPE_##kind(name)>::value, \
      "experiture.h: experiture_config_set_" #name                                            \
      " has not the signature of "                                                            \
      "a " #kind " option");
#include "experiture/config_options.inc"
#undef EXPERITURE_CONFIG_OPTION

std::string describe(const std::string& v) {
  return v;
}
std::string describe(bool v) {
  return v ? "true" : "false";
}
std::string describe(size_t v) {
  return std::to_string(v);
}
std::string describe(int64_t v) {
  return std::to_string(v);
}
std::string describe(experiture::Consent v) {
  switch (v) {
    case experiture::Consent::kGranted:
      return "granted";
    case experiture::Consent::kDenied:
      return "denied";
    case experiture::Consent::kUnknown:
      return "unknown";
  }
  return "?";
}
std::string describe(const std::vector<std::string>& keys) {
  std::string out = "[";
  for (const auto& key : keys) out += (out.size() > 1 ? ",\"" : "\"") + key + "\"";
  return out + "]";
}
std::string describe(const std::map<std::string, std::vector<std::string>>& keys) {
  return keys.empty() ? "{}" : "(not empty)";
}
std::string describe(const experiture::RetryPolicy& r) {
  std::ostringstream out;
  out << r.base_ms << ' ' << r.factor << ' ' << r.cap_ms;
  return out.str();
}
template <typename T>
std::string describe(const std::shared_ptr<T>& seam) {
  return seam ? "set" : "none";
}
template <typename F>
std::string describe(const std::function<F>& callback) {
  return callback ? "set" : "none";
}

std::vector<Option> table() {
  const Config core;
  std::vector<Option> options;
#define EXPERITURE_CONFIG_OPTION(name, kind, member, default_text, java, swift, doc) \
  options.push_back({#name, #kind, default_text, java, swift, describe(core.member)});
#include "experiture/config_options.inc"
#undef EXPERITURE_CONFIG_OPTION
  return options;
}

std::string read(const std::string& relative) {
  std::ifstream in(std::string(EXPERITURE_SOURCE_DIR) + "/" + relative, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> matches(const std::string& text, const std::string& pattern) {
  std::set<std::string> out;
  const std::regex re(pattern);
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.insert(word);
  return out;
}

// Kinds a binding passes on by the option's name (the JNI glue's name-keyed setters).
bool by_name(const std::string& kind) {
  return kind != "OBJECT_KEYS" && kind != "RETRY" && kind != "TABLE";
}

const char* const kTable = "core/include/experiture/config_options.inc";

}  // namespace

TEST_CASE("every C config setter in experiture.h is an option of the table", "[capi][unit]") {
  std::set<std::string> names;
  for (const Option& o : table()) names.insert(o.name);
  for (const std::string& setter :
       matches(read("core/include/experiture/experiture.h"), "experiture_config_set_(\\w+)\\(")) {
    INFO("experiture.h declares experiture_config_set_" << setter << ": add a row to " << kTable);
    CHECK(names.count(setter) == 1);
  }
}

TEST_CASE("the table's defaults are the defaults of Config", "[capi][unit]") {
  for (const Option& o : table()) {
    INFO(kTable << ": " << o.name);
    CHECK(o.default_text == o.core_default);
  }
}

TEST_CASE("the Java builder has exactly the options of the table", "[capi][unit]") {
  const std::string source = read("bindings/java/src/main/java/com/experiture/sdk/Experiture.java");
  const std::string builder = source.substr(source.find("public static final class Builder"));
  std::set<std::string> methods = matches(builder, "public Builder (\\w+)\\(");
  std::set<std::string> passed =
      matches(builder, "(?:text|number|texts\\.put|texts\\.get)\\(\"(\\w+)\"");
  std::set<std::string> names;
  std::set<std::string> java_names;
  for (const Option& o : table()) {
    names.insert(o.name);
    for (const std::string& method : words(o.java)) {
      java_names.insert(method);
      INFO("Experiture.Builder has no method " << method << " for the option " << o.name);
      CHECK(methods.count(method) == 1);
    }
    if (!o.java.empty() && by_name(o.kind)) {
      INFO("Experiture.Builder never passes the option \"" << o.name << "\" to the native side");
      CHECK(passed.count(o.name) == 1);
    }
  }
  for (const std::string& method : methods) {
    INFO("Experiture.Builder." << method << " is not an option of " << kTable);
    CHECK(java_names.count(method) == 1);
  }
  for (const std::string& name : passed) {
    INFO("Experiture.Builder passes \"" << name << "\", which is not an option of " << kTable);
    CHECK(names.count(name) == 1);
  }
}

TEST_CASE("the Swift config has exactly the options of the table", "[capi][unit]") {
  const std::string source = read("bindings/swift/Sources/Experiture/ExperitureConfig.swift");
  const size_t start = source.find("public struct ExperitureConfig");
  REQUIRE(start != std::string::npos);
  const std::string config = source.substr(start, source.find("\n}\n", start) - start);
  const std::set<std::string> properties = matches(config, "public var (\\w+)");
  const std::set<std::string> called = matches(config, "experiture_config_set_(\\w+)\\(");
  std::set<std::string> swift_names;
  for (const Option& o : table()) {
    if (o.swift.empty()) continue;
    swift_names.insert(o.swift);
    {
      INFO("ExperitureConfig has no property " << o.swift << " for the option " << o.name);
      CHECK(properties.count(o.swift) == 1);
    }
    INFO("ExperitureConfig never calls experiture_config_set_" << o.name);
    CHECK(called.count(o.name) == 1);
  }
  for (const std::string& property : properties) {
    INFO("ExperitureConfig." << property << " is not an option of " << kTable);
    CHECK(swift_names.count(property) == 1);
  }
}
