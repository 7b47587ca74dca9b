// Coalescing of upserts inside one run of a batch: fewer records, the same server state.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace experiture {
namespace drain {

// One output record and the indexes of the input records merged into it (ascending).
struct Coalesced {
  json::Value record;
  std::vector<size_t> sources;
};

// Merges upserts of a run (same object, same match_key) that write the same profile, such that
// sending the output in order leaves the server exactly as sending the input in order would.
//
// The server model (docs/api.md, and tools/emulator): a write updates only the top-level
// fields it sends (explicit null clears) on the row its `match_key` value resolves to; identity
// values accumulate (every value a row ever carried keeps resolving to it), and a write whose
// other identity values resolve other rows merges them into its row, conflicting fields keeping
// the newest write (per row or per field). The server may hold links we do not know of: any row
// may carry any identity values from earlier sessions, even several values of `match_key`.
//
// Rules:
// 1. A record is *plain* when it is a JSON object whose `match_key` field is a string and which
//    has no other field named in `identity_fields` (not even null). A plain record reaches only
//    the row its key value resolves to and changes no identity. Consecutive plain writes for one
//    key value equal their field-wise overlay (later values win, explicit nulls kept, omitted
//    fields kept).
// 2. Any other record (carrying more identity fields, e.g. the login write linking email and
//    device_id, or not an object, or without a string key) is a *barrier*: it may link or merge
//    any rows, so nothing moves across it. It is emitted unchanged at its place and never merged.
// 3. Between barriers (a *segment*), plain records are grouped by key value; each group becomes
//    one overlaid record, emitted at the position of the group's last record (groups ordered by
//    their last record), so each row's last update keeps its order relative to other rows'.
// 4. Moving a group's earlier writes later is only allowed when it cannot change which write to
//    a field comes last, should two key values resolve to the same row, or should a later merge
//    compare rows field by field: a record joins its group only if, for every field the group
//    wrote earlier and this record does not write, no other group of the segment wrote that
//    field after the group did. Otherwise the segment ends there (as at a barrier) and the record
//    starts a new one. Runs that keep writing the same fields therefore coalesce fully.
// With these rules, for every field, the order of the last writes by different groups is the
// same before and after, so the final state is the same whatever row each key value resolves
// to. What may differ is the order in which new rows get created within a segment, which the
// API does not expose. A coalesced record is accepted or rejected as a whole; `sources` maps a
// per-record result back to every input it came from.
//
// Takes the records by value (moved through, never copied); identity_fields are field names
// (typically including match_key itself, which is allowed). Pure; any thread; does not throw
// except std::bad_alloc.
std::vector<Coalesced> coalesce_upserts_with_sources(
    std::vector<json::Value> records, const std::string& match_key,
    const std::vector<std::string>& identity_fields);

// The same, records only.
std::vector<json::Value> coalesce_upserts(std::vector<json::Value> records,
                                          const std::string& match_key,
                                          const std::vector<std::string>& identity_fields);

}  // namespace drain
}  // namespace experiture
