// The experiture-cli commands: each opens the outbox, calls the public API and prints the
// outcome. No queueing, retry or validation logic lives here; it is all in core/.
#pragma once

#include "cli_options.hpp"

namespace experiture {
namespace cli {

// Runs options.command and returns the process exit code. Prints results to stdout and
// problems to stderr; never prints a token.
ExitCode run_cli_command(const CliOptions& options);

}  // namespace cli
}  // namespace experiture
