#include "cli_options.hpp"

#include <algorithm>
#include <cstdlib>

namespace experiture {
namespace cli {
namespace {

// Walks argv; options take their value as the next word or after '='.
class ArgReader {
 public:
  ArgReader(int argc, const char* const* argv) : argc_(argc), argv_(argv) {}

  bool done() const { return index_ >= argc_; }
  const std::string& current() const { return word_; }
  void next() { word_ = index_ < argc_ ? argv_[index_++] : ""; }
  bool load() {
    if (done()) return false;
    next();
    return true;
  }

  // True when the current word is `--name` or `--name=...`.
  bool is(const char* name) const {
    const std::string n = name;
    return word_ == n || word_.compare(0, n.size() + 1, n + "=") == 0;
  }

  bool value(std::string* out, std::string* error) {
    const size_t eq = word_.find('=');
    if (word_.compare(0, 2, "--") == 0 && eq != std::string::npos) {
      *out = word_.substr(eq + 1);
      return true;
    }
    if (done()) {
      *error = word_ + " needs a value";
      return false;
    }
    *out = argv_[index_++];
    return true;
  }

 private:
  int argc_;
  const char* const* argv_;
  int index_ = 1;
  std::string word_;
};

bool parse_command(const std::string& name, Command* out) {
  static const struct {
    const char* name;
    Command command;
  } kCommands[] = {
      {"upsert", Command::kUpsert},        {"append", Command::kAppend},
      {"login", Command::kLogin},          {"logout", Command::kLogout},
      {"push-token", Command::kPushToken}, {"drain", Command::kDrain},
      {"status", Command::kStatus},        {"dead-letters", Command::kDeadLetters},
      {"import", Command::kImport},        {"help", Command::kHelp},
      {"version", Command::kVersion},
  };
  for (const auto& c : kCommands) {
    if (name == c.name) {
      *out = c.command;
      return true;
    }
  }
  return false;
}

size_t expected_positionals(Command command) {
  switch (command) {
    case Command::kUpsert:
      return 3;
    case Command::kAppend:
      return 2;
    case Command::kPushToken:
      return 1;
    default:
      return 0;
  }
}

const char* positional_names(Command command) {
  switch (command) {
    case Command::kUpsert:
      return "upsert OBJECT MATCH_KEY JSON";
    case Command::kAppend:
      return "append OBJECT JSON";
    case Command::kPushToken:
      return "push-token TOKEN";
    default:
      return "";
  }
}

bool parse_seconds(const std::string& text, double* out) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0) || value > 7 * 24 * 3600) return false;
  *out = value;
  return true;
}

bool parse_command_args(ArgReader& reader, const std::string& command_name, CliOptions* out,
                        std::string* error) {
  std::string sub;
  while (reader.load()) {
    const std::string& word = reader.current();
    if (word == "--help" || word == "-h") {
      out->help_topic = command_name;
      out->command = Command::kHelp;
      return true;
    }
    if (word.size() > 1 && word[0] == '-') {
      std::string value;
      if (out->command == Command::kImport && reader.is("--object")) {
        if (!reader.value(&out->import_object, error)) return false;
      } else if (out->command == Command::kImport && reader.is("--match-key")) {
        if (!reader.value(&out->import_match_key, error)) return false;
      } else if (out->command == Command::kLogin && reader.is("--email")) {
        if (!reader.value(&out->login.email, error)) return false;
      } else if (out->command == Command::kLogin && reader.is("--customer-id")) {
        if (!reader.value(&out->login.customer_id, error)) return false;
      } else if (out->command == Command::kLogin && reader.is("--phone")) {
        if (!reader.value(&out->login.phone, error)) return false;
      } else if (out->command == Command::kDrain && reader.is("--timeout")) {
        if (!reader.value(&value, error)) return false;
        if (!parse_seconds(value, &out->timeout_s)) {
          *error = "--timeout must be a number of seconds >= 0";
          return false;
        }
      } else if ((out->command == Command::kStatus || out->command == Command::kDeadLetters) &&
                 word == "--json") {
        out->json = true;
      } else {
        *error = "unknown option " + word + " for this command";
        return false;
      }
    } else if (out->command == Command::kDeadLetters && sub.empty() && out->args.empty()) {
      sub = word;
    } else {
      out->args.push_back(word);
    }
  }
  if (out->command == Command::kDeadLetters && !sub.empty()) {
    if (sub == "retry" || sub == "purge") {
      if (out->json) {
        *error = "--json goes with the dead-letters list only";
        return false;
      }
      out->command = sub == "retry" ? Command::kDeadLettersRetry : Command::kDeadLettersPurge;
    } else if (sub != "list") {
      *error = "dead-letters takes retry, purge or nothing, not '" + sub + "'";
      return false;
    }
  }
  if (out->args.size() != expected_positionals(out->command)) {
    *error = out->args.size() < expected_positionals(out->command)
                 ? std::string("usage: experiture-cli ") + positional_names(out->command)
                 : "unexpected argument '" + out->args[expected_positionals(out->command)] + "'";
    return false;
  }
  if (out->command == Command::kImport && !out->import_match_key.empty() &&
      out->import_object.empty()) {
    *error = "import --match-key needs --object (envelope lines carry their own matchKey)";
    return false;
  }
  if (out->command == Command::kLogin && out->login.email.empty() &&
      out->login.customer_id.empty() && out->login.phone.empty()) {
    *error = "login needs at least one of --email, --customer-id, --phone";
    return false;
  }
  return true;
}

}  // namespace

bool parse_cli_args(int argc, const char* const* argv, const EnvLookup& env, CliOptions* out,
                    std::string* error) {
  ArgReader reader(argc, argv);
  bool have_db = false;
  bool have_endpoint = false;
  bool have_token = false;
  bool have_command = false;
  bool have_ca = false;
  bool have_pins = false;
  bool have_key = false;
  std::string command_name;
  while (reader.load()) {
    const std::string& word = reader.current();
    if (word == "--help" || word == "-h") {
      out->command = Command::kHelp;
      return true;
    } else if (word == "--version") {
      out->command = Command::kVersion;
      return true;
    } else if (reader.is("--db")) {
      if (!reader.value(&out->db_path, error)) return false;
      have_db = true;
    } else if (reader.is("--endpoint")) {
      if (!reader.value(&out->endpoint, error)) return false;
      have_endpoint = true;
    } else if (reader.is("--token")) {
      if (!reader.value(&out->token, error)) return false;
      have_token = true;
    } else if (reader.is("--token-command")) {
      if (!reader.value(&out->token_command, error)) return false;
      have_token = true;
    } else if (reader.is("--token-file")) {
      if (!reader.value(&out->token_file, error)) return false;
      have_token = true;
    } else if (reader.is("--ca-file")) {
      if (!reader.value(&out->ca_file, error)) return false;
      have_ca = true;
    } else if (reader.is("--pin")) {
      std::string pin;
      if (!reader.value(&pin, error)) return false;
      out->pins.push_back(pin);
      have_pins = true;
    } else if (reader.is("--key-file")) {
      if (!reader.value(&out->key_file, error)) return false;
      have_key = true;
    } else if (word.size() > 1 && word[0] == '-') {
      *error = "unknown option " + word;
      return false;
    } else {
      if (!parse_command(word, &out->command)) {
        *error = "unknown command '" + word + "'";
        return false;
      }
      command_name = word;
      have_command = true;
      break;
    }
  }
  if (!have_command) {
    *error = "no command given";
    return false;
  }
  if ((!out->token.empty()) + (!out->token_command.empty()) + (!out->token_file.empty()) > 1) {
    *error = "--token, --token-command and --token-file exclude each other";
    return false;
  }
  auto from_env = [&env](const char* name, std::string* target) {
    const char* value = env ? env(name) : nullptr;
    if (value != nullptr && *value != '\0') *target = value;
  };
  if (!have_db) from_env("EXPERITURE_DB", &out->db_path);
  if (!have_endpoint) from_env("EXPERITURE_ENDPOINT", &out->endpoint);
  if (!have_token) {
    from_env("EXPERITURE_TOKEN", &out->token);
    from_env("EXPERITURE_TOKEN_COMMAND", &out->token_command);
    from_env("EXPERITURE_TOKEN_FILE", &out->token_file);
    if ((!out->token.empty()) + (!out->token_command.empty()) + (!out->token_file.empty()) > 1) {
      *error =
          "EXPERITURE_TOKEN, EXPERITURE_TOKEN_COMMAND and EXPERITURE_TOKEN_FILE exclude each other";
      return false;
    }
  }
  if (!have_ca) from_env("EXPERITURE_CA_FILE", &out->ca_file);
  if (!have_key) from_env("EXPERITURE_KEY_FILE", &out->key_file);
  if (!have_pins) {
    std::string pins;
    from_env("EXPERITURE_PINS", &pins);
    for (size_t start = 0; !pins.empty() && start <= pins.size();) {
      const size_t end = std::min(pins.find(';', start), pins.size());
      if (end > start) out->pins.push_back(pins.substr(start, end - start));
      start = end + 1;
    }
  }
  if (out->db_path.empty()) {
    *error = "--db must not be empty";
    return false;
  }
  if (out->command == Command::kVersion) return true;
  if (out->command == Command::kHelp) {
    // `help COMMAND`
    if (reader.load()) {
      out->help_topic = reader.current();
      if (cli_command_help(out->help_topic) == nullptr) {
        *error = "no command '" + out->help_topic + "' (run 'experiture-cli --help')";
        return false;
      }
    }
    return true;
  }
  return parse_command_args(reader, command_name, out, error);
}

// The exit-code table, shared by --help and every command's help (the README copies it).
#define EXPERITURE_CLI_EXIT_CODES                                                            \
  "Exit codes:\n"                                                                            \
  "  0  ok\n"                                                                                \
  "  1  the outbox could not be opened, written or read (stderr names the file and why)\n"   \
  "  2  usage: bad command line, or an invalid configuration\n"                              \
  "  3  input rejected (stderr names the field and the rule; import: the line numbers)\n"    \
  "  4  drain: records still queued when --timeout ran out\n"                                \
  "  5  drain: delivery paused (token refused, forbidden, TLS or pin failure, unreadable)\n" \
  "  6  drain: finished, but the server rejected records (see dead-letters)\n"

const char* cli_usage() {
  return "usage: experiture-cli [--db PATH] [--endpoint URL]\n"
         "                      [--token-file F | --token-command CMD | --token T]\n"
         "                      [--ca-file F] [--pin sha256//B64]... [--key-file F] COMMAND "
         "[ARGS]\n"
         "       experiture-cli COMMAND --help | help COMMAND | --version\n"
         "Commands:\n"
         "  upsert OBJECT MATCH_KEY JSON   accept one upsert; returns once it is durable\n"
         "  append OBJECT JSON             accept one event row\n"
         "  import [--object O [--match-key K]] < FILE.ndjson\n"
         "                                 accept one record (or envelope) per line\n"
         "  login [--email E] [--customer-id C] [--phone P]\n"
         "  logout\n"
         "  push-token TOKEN\n"
         "  drain [--timeout SECONDS]      deliver until the outbox is empty (default 60 s)\n"
         "  status [--json]                device_id, queued, in flight, dead letters, pause\n"
         "  dead-letters [--json]          list dead letters\n"
         "  dead-letters retry|purge       re-queue or delete every dead letter\n"
         "Options (environment):\n"
         "  --db PATH            (EXPERITURE_DB)  outbox file, default ./experiture-outbox.db\n"
         "  --endpoint URL       (EXPERITURE_ENDPOINT)  default "
         "https://api.experiture.ai/public/v1\n"
         "  --token-file F       (EXPERITURE_TOKEN_FILE)  file holding the bearer token\n"
         "  --token-command CMD  (EXPERITURE_TOKEN_COMMAND)  prints the token; run again on 401\n"
         "  --token T            (EXPERITURE_TOKEN)  bearer token; for tests only: every user\n"
         "                       sees a command line in the process list\n"
         "  --ca-file F          (EXPERITURE_CA_FILE)  PEM CA bundle replacing the system store\n"
         "  --pin sha256//B64    (EXPERITURE_PINS, ';'-separated)  public-key pin; repeatable\n"
         "  --key-file F         (EXPERITURE_KEY_FILE)  outbox encryption key: 32 bytes, or 64\n"
         "                       hex digits; every later run needs the same key\n"
         "  --version            print the CLI's and the SDK's version\n" EXPERITURE_CLI_EXIT_CODES;
}

const char* cli_command_help(const std::string& command) {
  static const struct {
    const char* name;
    const char* text;
  } kHelp[] = {
      {"upsert",
       "usage: experiture-cli upsert OBJECT MATCH_KEY JSON\n"
       "Accepts one upsert of the JSON object into OBJECT, matched by its MATCH_KEY field,\n"
       "and returns once it is durable in the outbox. Nothing is sent: run drain.\n"
       "Example: experiture-cli upsert profiles email '{\"email\":\"ann@example.com\"}'\n"
       "Exit codes: 0 durable, 1 outbox failure, 2 usage, 3 input rejected.\n"},
      {"append",
       "usage: experiture-cli append OBJECT JSON\n"
       "Accepts one event row (never merged) and returns once it is durable.\n"
       "Exit codes: 0 durable, 1 outbox failure, 2 usage, 3 input rejected.\n"},
      {"import",
       "usage: experiture-cli import [--object O [--match-key K]] < FILE.ndjson\n"
       "Reads standard input, one JSON object per line (empty lines skipped), in one process:\n"
       "  --object O --match-key K  each line is a record, upserted into O by its K field\n"
       "  --object O                each line is a record, appended to O\n"
       "  (no --object)             each line is an envelope: {\"object\":O,\"record\":{...},\n"
       "                            \"matchKey\":K} upserts; without matchKey it appends\n"
       "Shows a progress line on a terminal; prints a summary (accepted, rejected with line\n"
       "numbers and the reason on stderr) and returns once the accepted lines are durable.\n"
       "Exit codes: 0 every line accepted, 1 outbox failure, 2 usage,\n"
       "            3 at least one line rejected (the others are kept).\n"},
      {"login",
       "usage: experiture-cli login [--email E] [--customer-id C] [--phone P]\n"
       "Links this device's profile to the user (at least one identifier).\n"
       "Exit codes: 0 durable, 1 outbox failure, 2 usage, 3 input rejected.\n"},
      {"logout",
       "usage: experiture-cli logout\n"
       "Ends the user's session: clears the push token on the user's profile and starts a new\n"
       "anonymous device id.\n"
       "Exit codes: 0 durable, 1 outbox failure.\n"},
      {"push-token",
       "usage: experiture-cli push-token TOKEN\n"
       "Stores the device's push token and writes it to the current profile.\n"
       "Exit codes: 0 durable, 1 outbox failure, 2 usage, 3 input rejected.\n"},
      {"drain",
       "usage: experiture-cli drain [--timeout SECONDS]\n"
       "Delivers queued records until the outbox is empty or SECONDS (default 60) pass.\n"
       "On a terminal: a progress line, and the first delivery failure at once. Always a\n"
       "summary: records delivered, dead-lettered, elapsed time and "
       "rate.\n" EXPERITURE_CLI_EXIT_CODES},
      {"status",
       "usage: experiture-cli status [--json]\n"
       "Prints the device id, queued records, in flight, dead letters, whether delivery is\n"
       "paused and why, and the last delivery and storage errors (kept in the outbox, so a new\n"
       "process sees what the last drain met).\n"
       "Exit codes: 0 ok, 1 outbox failure.\n"},
      {"dead-letters",
       "usage: experiture-cli dead-letters [--json] | dead-letters retry | dead-letters purge\n"
       "Lists the records the server rejected (code, message, record), re-queues them all\n"
       "(retry) or deletes them all (purge).\n"
       "Exit codes: 0 ok, 1 outbox failure, 2 usage.\n"},
      {"help", "usage: experiture-cli help [COMMAND]\n"},
      {"version", "usage: experiture-cli --version\n"},
  };
  for (const auto& h : kHelp) {
    if (command == h.name) return h.text;
  }
  return nullptr;
}

}  // namespace cli
}  // namespace experiture
