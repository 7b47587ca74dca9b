// The emulator's Idempotency-Key store on its own: an answer is found for 24 hours, then not.
#include <catch2/catch.hpp>

#include "idempotency_store.hpp"

using experiture::emulator::IdempotencyStore;

TEST_CASE("the idempotency store finds an answer within its window and not after",
          "[emulator][unit]") {
  IdempotencyStore store;
  CHECK(store.find("k", 0) == nullptr);
  store.remember("k", IdempotencyStore::Entry{"hash", 200, "{\"success\":true}", 1000}, nullptr);
  const IdempotencyStore::Entry* found = store.find("k", 1000 + IdempotencyStore::kWindowMs - 1);
  REQUIRE(found != nullptr);
  CHECK(found->body_hash == "hash");
  CHECK(found->status == 200);
  CHECK(found->body == "{\"success\":true}");
  CHECK(store.find("k", 1000 + IdempotencyStore::kWindowMs) == nullptr);
  CHECK(store.find("other", 1000) == nullptr);
  store.clear();
  CHECK(store.find("k", 1000) == nullptr);
}
