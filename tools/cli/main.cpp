// experiture-cli: enqueue, drain and inspect an Experiture outbox from a shell. See cli_usage().
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_commands.hpp"
#include "cli_options.hpp"

int main(int argc, char** argv) {
  using experiture::cli::ExitCode;
  experiture::cli::CliOptions options;
  std::string error;
  if (!experiture::cli::parse_cli_args(
          argc, argv, [](const char* name) { return std::getenv(name); }, &options, &error)) {
    std::fprintf(stderr, "experiture-cli: %s\n", error.c_str());
    std::fprintf(stderr, "run 'experiture-cli --help' for usage\n");
    return static_cast<int>(ExitCode::kUsage);
  }
  return static_cast<int>(experiture::cli::run_cli_command(options));
}
