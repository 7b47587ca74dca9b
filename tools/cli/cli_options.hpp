// CliOptions: the parsed command line of experiture-cli (options, environment, one command).
// Parsing is pure apart from reading the EXPERITURE_* environment variables through `getenv`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "experiture/client.hpp"

namespace experiture {
namespace cli {

// Process exit codes; documented in the usage text.
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,       // the outbox could not be opened, written or read
  kUsage = 2,         // bad command line
  kRejected = 3,      // the SDK rejected the input (stderr names the field and the rule)
  kTimeout = 4,       // drain did not finish within --timeout
  kPaused = 5,        // delivery paused by a permanent problem (auth, forbidden)
  kDeadLettered = 6,  // drain finished, but the server rejected records (now dead letters)
};

enum class Command : int {
  kHelp = 0,
  kUpsert,
  kAppend,
  kLogin,
  kLogout,
  kPushToken,
  kDrain,
  kStatus,
  kDeadLetters,
  kDeadLettersRetry,
  kDeadLettersPurge,
  kImport,
  kVersion,
};

struct CliOptions {
  std::string db_path = "./experiture-outbox.db";
  std::string endpoint = kDefaultEndpoint;
  std::string token;              // a fixed bearer token; never printed
  std::string token_command;      // a shell command printing the token
  std::string token_file;         // a file whose trimmed content is the token (kept off argv)
  std::string ca_file;            // PEM CA bundle replacing the system store (TlsOptions)
  std::vector<std::string> pins;  // "sha256//<base64>" public-key pins, any number
  std::string key_file;           // 32-byte outbox encryption key: 32 raw bytes or 64 hex digits
  Command command = Command::kHelp;
  std::vector<std::string> args;  // the command's positional arguments
  LoginInfo login;
  double timeout_s = 60.0;       // drain
  bool json = false;             // status, dead-letters
  std::string help_topic;        // kHelp: the command whose help to print ("" = every command)
  std::string import_object;     // import --object ("" = lines are envelopes)
  std::string import_match_key;  // import --match-key ("" = append)
};

// Looks up an environment variable; returns nullptr when unset.
using EnvLookup = std::function<const char*(const char* name)>;

// Parses argv (global options, then the command and its options); the environment fills what
// the command line leaves out. Returns false with *error when the command line is not valid.
bool parse_cli_args(int argc, const char* const* argv, const EnvLookup& env, CliOptions* out,
                    std::string* error);

// The usage text (ends with a newline).
const char* cli_usage();
// One command's help (usage line, what it does, its options and exit codes); nullptr when
// `command` is not a command name.
const char* cli_command_help(const std::string& command);

}  // namespace cli
}  // namespace experiture
