// The C handles' definitions, shared by the extern "C" files.
#pragma once

#include <atomic>
#include <memory>

#include "experiture/client.hpp"
#include "experiture/config.hpp"
#include "experiture/experiture.h"

struct experiture_config_t {
  experiture::Config config;
};

struct experiture_client_t {
  std::unique_ptr<experiture::Client> client;
  std::atomic<bool> closed{false};  // set by experiture_client_close; later calls are CLOSED
};
