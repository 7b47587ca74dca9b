// The store thread's inbox and its idle policy, on their own: what wakes the loop, what a round
// takes, and when an idle thread may sleep without a timer.
#include <catch2/catch.hpp>

#include "client/store_inbox.hpp"

using experiture::client::IngressItem;
using experiture::client::kQueuedPollMs;
using experiture::client::store_wake_at;
using experiture::client::StoreInbox;

TEST_CASE("an idle store thread with nothing queued waits without a timer", "[client][unit]") {
  CHECK_FALSE(store_wake_at(std::nullopt, 0, false, 5000).has_value());
}

TEST_CASE("while records are queued the idle store thread looks at the file once a second",
          "[client][unit]") {
  CHECK(store_wake_at(std::nullopt, 0, true, 5000) == 5000 + kQueuedPollMs);
  // Sooner deadlines win: the drain loop's own, a failed commit's retry.
  CHECK(store_wake_at(5200, 0, true, 5000) == 5200);
  CHECK(store_wake_at(std::nullopt, 5300, true, 5000) == 5300);
  CHECK(store_wake_at(9000, 5300, false, 5000) == 5300);
  CHECK(store_wake_at(9000, 0, false, 5000) == 9000);
}

TEST_CASE("the inbox has work for a round only when something was posted", "[client][unit]") {
  StoreInbox inbox;
  CHECK_FALSE(inbox.has_work(false));
  inbox.writes.push_back(IngressItem());
  CHECK(inbox.has_work(false));
  CHECK_FALSE(inbox.has_work(true));  // a failed commit's retry is pending: writes wait
  inbox.persist_requested = true;
  CHECK(inbox.has_work(true));  // unless a persist asks for them
  inbox.persist_requested = false;
  inbox.hints.push_back([](experiture::drain::DrainLoop&) {});
  CHECK(inbox.has_work(true));
}

TEST_CASE("a round takes every lane whole and both sides keep their capacity", "[client][unit]") {
  StoreInbox inbox;
  StoreInbox round;
  round.writes.reserve(64);
  const size_t round_capacity = round.writes.capacity();
  for (uint64_t i = 1; i <= 3; ++i) {
    IngressItem item;
    item.accept_seq = i;
    inbox.writes.push_back(std::move(item));
  }
  int ran = 0;
  inbox.tasks.push_back([&ran] { ++ran; });
  inbox.persist_requested = true;
  inbox.take(round, true);
  REQUIRE(round.writes.size() == 3);
  CHECK(round.writes[2].accept_seq == 3);  // in the order posted
  CHECK(round.tasks.size() == 1);
  CHECK(round.persist_requested);
  CHECK_FALSE(inbox.persist_requested);
  CHECK(inbox.writes.empty());
  CHECK(inbox.writes.capacity() == round_capacity);  // the previous round's slots come back
  round.tasks[0]();
  CHECK(ran == 1);
  round.clear();
  CHECK_FALSE(round.has_work(false));

  // While writes are held back, a round takes the other lanes only.
  inbox.writes.push_back(IngressItem());
  inbox.tasks.push_back([] {});
  inbox.take(round, false);
  CHECK(round.writes.empty());
  CHECK(round.tasks.size() == 1);
  CHECK(inbox.writes.size() == 1);
}

TEST_CASE("the inbox counts the memory of its writes and a round takes that count with them",
          "[client][unit]") {
  StoreInbox inbox;
  IngressItem item;
  item.entry = experiture::outbox::Entry();
  item.entry->payload.assign(300, 'x');
  const size_t bytes = experiture::client::ingress_bytes(item);
  CHECK(bytes >= sizeof(IngressItem) + 300);
  inbox.push_write(std::move(item), bytes);
  CHECK(inbox.write_bytes == bytes);
  StoreInbox round;
  inbox.take(round, true);
  CHECK(round.write_bytes == bytes);
  CHECK(inbox.write_bytes == 0);
  round.clear();
  CHECK(round.write_bytes == 0);
}

TEST_CASE("a write overflows the inbox past either bound but never by its size alone",
          "[client][unit]") {
  StoreInbox inbox;
  // Empty: a write heavier than the memory bound is still taken.
  CHECK_FALSE(inbox.would_overflow(1, 5000, 100, 1000));
  inbox.push_write(IngressItem(), 600);
  CHECK_FALSE(inbox.would_overflow(1, 400, 100, 1000));
  CHECK(inbox.would_overflow(1, 401, 100, 1000));
  CHECK(inbox.would_overflow(100, 1, 100, 1000));  // the count bound
}

TEST_CASE("a group goes without waiting out the commit window once it holds half the memory bound",
          "[client][unit]") {
  StoreInbox inbox;
  inbox.push_write(IngressItem(), 499);
  CHECK_FALSE(inbox.group_ready(1000));
  inbox.push_write(IngressItem(), 1);
  CHECK(inbox.group_ready(1000));
}
