// Builds a large outbox fast: the SDK creates the file (schema, identity, meta), then bare SQLite
// appends `count` queued entries in the outbox schema (core/src/outbox/migrations.cpp) and keeps
// the meta counters (queued_records, queued_bytes, last_seq) consistent, as Outbox::commit would.
#pragma once

#include <cstddef>
#include <string>

namespace experiture {
namespace bench {

// Records are make_record(i % distinct_profiles) in stored form. Returns the seconds it took.
double write_outbox_fixture(const std::string& path, size_t count, size_t distinct_profiles);

}  // namespace bench
}  // namespace experiture
