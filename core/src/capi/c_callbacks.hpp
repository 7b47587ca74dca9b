// Adapters from the C callback tables (experiture.h) to the C++ seams in Config: each table is
// copied into a shared holder whose last owner calls table.destroy(user_data) exactly once.
#pragma once

#include <memory>

#include "experiture/config.hpp"
#include "experiture/experiture.h"

namespace experiture {
namespace capi {

// The tables must have been checked with is_valid() first.
std::shared_ptr<platform::HttpClient> make_http_client(const experiture_http_client_t& table);
std::shared_ptr<platform::Logger> make_logger(const experiture_logger_t& table);
TokenProvider make_token_provider(const experiture_token_provider_t& table);
DeliveryListener make_delivery_listener(const experiture_delivery_listener_t& table);
std::shared_ptr<platform::PhoneNormalizer> make_phone_normalizer(
    const experiture_phone_normalizer_t& table);

// Version known and required members set.
bool is_valid(const experiture_http_client_t& table);
bool is_valid(const experiture_logger_t& table);
bool is_valid(const experiture_token_provider_t& table);
bool is_valid(const experiture_delivery_listener_t& table);
bool is_valid(const experiture_phone_normalizer_t& table);

}  // namespace capi
}  // namespace experiture
