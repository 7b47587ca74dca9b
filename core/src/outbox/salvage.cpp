#include "outbox/salvage.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <unordered_map>

namespace experiture {
namespace outbox {
namespace {

// The file format: https://www.sqlite.org/fileformat2.html (sections 1.3, 1.6, 2.1, 4.3).
constexpr char kMagic[] = "SQLite format 3";
constexpr uint32_t kWalMagic = 0x377f0682;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string();
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t be16(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 8) | p[1];
}
uint32_t be32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
uint32_t le32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[3]) << 24) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[1]) << 8) | p[0];
}

bool valid_page_size(uint32_t size) {
  return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

// A varint at [p, end): its value and length (0 when it runs past the end).
size_t varint(const unsigned char* p, const unsigned char* end, uint64_t* out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 9; ++i) {
    if (p + i >= end) return 0;
    if (i == 8) {
      v = (v << 8) | p[i];
      *out = v;
      return 9;
    }
    v = (v << 7) | (p[i] & 0x7f);
    if ((p[i] & 0x80) == 0) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

struct Value {
  enum class Type { kNull, kInt, kFloat, kText, kBlob } type = Type::kNull;
  int64_t number = 0;
  std::string bytes;
};

// Decodes a record; false when it is not one.
bool decode_record(const std::string& payload, std::vector<Value>* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  const unsigned char* end = p + payload.size();
  uint64_t header_size = 0;
  size_t n = varint(p, end, &header_size);
  if (n == 0 || header_size < n || header_size > payload.size()) return false;
  const unsigned char* h = p + n;
  const unsigned char* header_end = p + header_size;
  const unsigned char* body = header_end;
  while (h < header_end) {
    uint64_t serial = 0;
    size_t len = varint(h, header_end, &serial);
    if (len == 0) return false;
    h += len;
    Value v;
    size_t size = 0;
    if (serial == 0) {
      v.type = Value::Type::kNull;
    } else if (serial <= 6 || serial == 8 || serial == 9) {
      static const size_t kIntSizes[] = {0, 1, 2, 3, 4, 6, 8};
      v.type = Value::Type::kInt;
      size = serial <= 6 ? kIntSizes[serial] : 0;
      if (body + size > end) return false;
      if (serial == 8 || serial == 9) {
        v.number = serial == 9 ? 1 : 0;
      } else {
        uint64_t x = 0;
        for (size_t i = 0; i < size; ++i) x = (x << 8) | body[i];
        if (size < 8 && (body[0] & 0x80) != 0) x |= ~uint64_t{0} << (size * 8);  // sign
        v.number = static_cast<int64_t>(x);
      }
    } else if (serial == 7) {
      v.type = Value::Type::kFloat;
      size = 8;
    } else if (serial >= 12) {
      v.type = (serial & 1) ? Value::Type::kText : Value::Type::kBlob;
      size = static_cast<size_t>((serial - 12) / 2);
      if (body + size > end || body + size < body) return false;
      v.bytes.assign(reinterpret_cast<const char*>(body), size);
    } else {
      return false;  // 10 and 11 are reserved
    }
    if (body + size > end) return false;
    body += size;
    out->push_back(std::move(v));
  }
  return body == end;
}

// Frames of a good run after a break that make it damage, not a torn tail (see scan_wal).
constexpr size_t kDamageRunFrames = 8;

struct WalScan {
  uint32_t page_size = 0;
  // page -> offset of its newest data: the log as SQLite reads it, plus, when the WAL is
  // damaged, the whole transactions after the damage whose frames all check out.
  std::unordered_map<uint64_t, size_t> committed;
  // Offsets of the data of every committed frame that checks out, oldest first (older
  // versions of pages too: a batch row the newest version no longer holds).
  std::vector<std::pair<uint64_t, size_t>> versions;
  std::vector<size_t> transaction_end;  // per version: the index of its transaction's last one
  bool damaged_middle = false;
};

// SQLite's log ends at the first frame whose salts or running checksum do not match: what
// follows is not part of it. After a power cut that is normal: the writes since the last sync
// may reach the disk in any order (a disk's write cache), so a lost or torn frame can be
// followed by later ones that landed. Damage to a frame that was already synced looks the same
// in one frame, but not in what follows it: a run of frames that each check out against the
// checksum stored in the frame before (each header stores the running checksum), ending in a
// commit. One unsynced window (one synchronous=FULL commit and the relaxed ones before it) is
// a few frames, and each of them lands or not on its own, so a run of kDamageRunFrames frames
// with a commit after a break is taken as damage to committed frames; anything shorter is a
// torn tail, and the file opens as SQLite reads it.
WalScan scan_wal(const std::string& wal) {
  WalScan scan;
  if (wal.size() < 32) return scan;
  const auto* w = reinterpret_cast<const unsigned char*>(wal.data());
  const uint32_t magic = be32(w);
  if ((magic & ~1u) != kWalMagic) return scan;
  const bool big_endian = (magic & 1) != 0;
  const uint32_t size = be32(w + 8);
  if (!valid_page_size(size)) return scan;
  auto checksum = [&](const unsigned char* p, size_t n, uint32_t* s0, uint32_t* s1) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      const uint32_t x0 = big_endian ? be32(p + i) : le32(p + i);
      const uint32_t x1 = big_endian ? be32(p + i + 4) : le32(p + i + 4);
      *s0 += x0 + *s1;
      *s1 += x1 + *s0;
    }
  };
  uint32_t s0 = 0, s1 = 0;
  checksum(w, 24, &s0, &s1);
  if (s0 != be32(w + 24) || s1 != be32(w + 28)) return scan;
  scan.page_size = size;
  const uint32_t salt1 = be32(w + 16), salt2 = be32(w + 20);
  const size_t frame_size = 24 + static_cast<size_t>(size);
  const size_t frames = (wal.size() - 32) / frame_size;
  auto frame = [&](size_t i) { return w + 32 + i * frame_size; };
  auto salts_match = [&](size_t i) {
    return be32(frame(i) + 8) == salt1 && be32(frame(i) + 12) == salt2;
  };
  // Frame i checks out when its salts match and its checksum follows from (a, b), the running
  // checksum before it.
  auto checks_out = [&](size_t i, uint32_t a, uint32_t b) {
    if (!salts_match(i)) return false;
    checksum(frame(i), 8, &a, &b);
    checksum(frame(i) + 24, size, &a, &b);
    return a == be32(frame(i) + 16) && b == be32(frame(i) + 20);
  };
  std::vector<std::pair<uint64_t, size_t>> pending;
  auto commit = [&](const std::vector<std::pair<uint64_t, size_t>>& frames_of) {
    for (const auto& p : frames_of) {
      scan.committed[p.first] = p.second;
      scan.versions.push_back(p);
    }
    scan.transaction_end.resize(scan.versions.size(), scan.versions.size() - 1);
  };
  auto commit_pending = [&]() {
    if (!pending.empty()) commit(pending);
    pending.clear();
  };
  // The log as SQLite reads it.
  size_t i = 0;
  for (; i < frames && checks_out(i, s0, s1); ++i) {
    s0 = be32(frame(i) + 16);
    s1 = be32(frame(i) + 20);
    const uint32_t pgno = be32(frame(i));
    if (pgno != 0) pending.emplace_back(pgno, 32 + i * frame_size + 24);
    if (be32(frame(i) + 4) != 0) commit_pending();  // a commit frame
  }
  if (i >= frames) return scan;
  // Past the break: frames that check out against the checksum stored in the frame before them.
  // Kept aside: they are read only when the WAL is found damaged, then every transaction after
  // the last one SQLite reads, except the frames that do not check out (the damaged ones; an
  // older version of their pages is read instead). The frames of the transaction the break is
  // in that came before it are part of that.
  std::vector<std::pair<uint64_t, size_t>> after;
  size_t run = 0;
  for (size_t j = i + 1; j < frames; ++j) {
    if (salts_match(j - 1) && be32(frame(j - 1) + 4) != 0) {
      after.insert(after.end(), pending.begin(), pending.end());  // a transaction ended there
      pending.clear();
    }
    const bool ok =
        salts_match(j - 1) && checks_out(j, be32(frame(j - 1) + 16), be32(frame(j - 1) + 20));
    run = ok ? run + 1 : 0;
    if (!ok) continue;
    const uint32_t pgno = be32(frame(j));
    if (pgno != 0) pending.emplace_back(pgno, 32 + j * frame_size + 24);
    if (be32(frame(j) + 4) != 0 && run >= kDamageRunFrames) scan.damaged_middle = true;
  }
  if (frames > 0 && salts_match(frames - 1) && be32(frame(frames - 1) + 4) != 0) {
    after.insert(after.end(), pending.begin(), pending.end());
  }
  // A torn tail holds nothing that was promised: the log as SQLite reads it is the state.
  if (scan.damaged_middle && !after.empty()) commit(after);
  return scan;
}

class PageReader {
  // The header is unreadable: the size whose page starts look most like b-tree pages (type byte
  // 2, 5, 10 or 13 and a plausible cell count). Outboxes have 1 KiB pages since issue 15, older
  // ones SQLite's default 4 KiB.
  uint32_t guess_page_size() const {
    // The share of page starts that look like b-tree pages: near 1 at the true size and at its
    // multiples (which skip pages), about 1/k at a size k times too small. The smallest size
    // within 10% of the best share wins.
    const uint32_t sizes[] = {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    double share[8] = {};
    double best = 0;
    for (size_t i = 0; i < 8; ++i) {
      uint64_t starts = 0, hits = 0;
      for (uint64_t off = sizes[i]; off + 8 <= main_.size(); off += sizes[i]) {
        const auto* p = reinterpret_cast<const unsigned char*>(main_.data()) + off;
        ++starts;
        if ((p[0] == 2 || p[0] == 5 || p[0] == 10 || p[0] == 13) && be16(p + 3) <= sizes[i] / 4)
          ++hits;
      }
      share[i] = starts == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(starts);
      best = std::max(best, share[i]);
    }
    for (size_t i = 0; i < 8; ++i) {
      if (best > 0 && share[i] >= 0.9 * best) return sizes[i];
    }
    return 4096;  // nothing looks like a b-tree page: SQLite's default
  }

 public:
  PageReader(const std::string& path, const std::string& wal_path) {
    main_ = read_all(path);
    const auto* m = reinterpret_cast<const unsigned char*>(main_.data());
    if (main_.size() >= 100 && main_.compare(0, 15, kMagic) == 0) {
      uint32_t size = be16(m + 16);
      if (size == 1) size = 65536;
      if (valid_page_size(size) && m[20] < 128) {
        page_size_ = size;
        reserved_ = m[20];
        header_ok_ = true;
      }
    }
    if (!wal_path.empty()) read_wal(read_all(wal_path));
    if (page_size_ == 0) page_size_ = guess_page_size();
    page_count_ = main_.size() / page_size_;
    for (const auto& frame : overlay_) page_count_ = std::max<uint64_t>(page_count_, frame.first);
    // The header that counts is the newest page 1 (it may be in the WAL).
    const unsigned char* first = page(1);
    if (first != nullptr && std::string(reinterpret_cast<const char*>(first), 15) == kMagic) {
      header_ok_ = true;
      mark_freelist(be32(first + 32));
    } else {
      header_ok_ = false;
    }
  }

  uint32_t page_size() const { return page_size_; }
  uint32_t usable() const { return page_size_ - reserved_; }
  uint64_t page_count() const { return page_count_; }
  bool header_ok() const { return header_ok_; }
  bool wal_used() const { return !overlay_.empty(); }
  bool is_free(uint64_t pgno) const { return free_.count(pgno) != 0; }

  // Which version of a page to read: the newest, or the one a given version of another page
  // saw (its overflow pages).
  static constexpr int64_t kNewest = -1;
  static constexpr int64_t kMainFile = -2;

  // Every version of every page the files hold: each page of the main file, then each
  // committed WAL frame that checks out (oldest first). f(pgno, data, as_of): as_of reads the
  // other pages as they were when that version was written.
  template <typename F>
  void for_each_version(F f) const {
    const auto* m = reinterpret_cast<const unsigned char*>(main_.data());
    for (uint64_t pgno = 1; pgno * page_size_ <= main_.size(); ++pgno) {
      f(pgno, m + (pgno - 1) * page_size_, kMainFile);
    }
    const auto* w = reinterpret_cast<const unsigned char*>(wal_.data());
    for (size_t i = 0; i < versions_.size(); ++i) {
      if (versions_[i].first > version_limit_) continue;
      f(versions_[i].first, w + versions_[i].second, static_cast<int64_t>(transaction_end_[i]));
    }
  }

  // Page `pgno` as of `as_of` (kNewest, kMainFile, or an index into the WAL versions: the
  // newest version written up to it, else the main file's). A version's as_of is the end of its
  // transaction, whose other frames (its overflow pages) may follow it.
  const unsigned char* page_as_of(uint64_t pgno, int64_t as_of) const {
    if (as_of == kNewest) return page(pgno);
    if (as_of >= 0) {
      auto it = version_index_.find(pgno);
      if (it != version_index_.end()) {
        auto after =
            std::upper_bound(it->second.begin(), it->second.end(), static_cast<size_t>(as_of));
        if (after != it->second.begin()) {
          return reinterpret_cast<const unsigned char*>(wal_.data()) +
                 versions_[*(after - 1)].second;
        }
      }
    }
    if (pgno == 0 || pgno * page_size_ > main_.size()) return nullptr;
    return reinterpret_cast<const unsigned char*>(main_.data()) + (pgno - 1) * page_size_;
  }

  // The newest content of page `pgno` (1-based), or null when it is beyond both files.
  const unsigned char* page(uint64_t pgno) const {
    auto it = overlay_.find(pgno);
    if (it != overlay_.end())
      return reinterpret_cast<const unsigned char*>(wal_.data()) + it->second;
    if (pgno == 0 || pgno * page_size_ > main_.size()) return nullptr;
    return reinterpret_cast<const unsigned char*>(main_.data()) + (pgno - 1) * page_size_;
  }

 private:
  // Frames count up to the last commit frame whose salt and running checksum hold, as SQLite
  // reads them; when frames were damaged after they were committed, also the frames of the
  // transactions after the damage that check out (scan_wal).
  void read_wal(std::string wal) {
    WalScan scan = scan_wal(wal);
    if (scan.page_size == 0 || (page_size_ != 0 && page_size_ != scan.page_size)) return;
    if (scan.committed.empty()) return;
    page_size_ = scan.page_size;
    // A page number no real file reaches (a damaged frame header) is ignored.
    const uint64_t limit = main_.size() / page_size_ + wal.size() / (page_size_ + 24) + 1;
    wal_ = std::move(wal);
    for (const auto& c : scan.committed) {
      if (c.first <= limit) overlay_[c.first] = c.second;
    }
    version_limit_ = limit;
    versions_ = std::move(scan.versions);
    transaction_end_ = std::move(scan.transaction_end);
    for (size_t i = 0; i < versions_.size(); ++i) version_index_[versions_[i].first].push_back(i);
  }

  void mark_freelist(uint64_t trunk) {
    std::set<uint64_t> seen;
    while (trunk != 0 && trunk <= page_count_ && seen.insert(trunk).second) {
      const unsigned char* p = page(trunk);
      if (p == nullptr) return;
      free_.insert(trunk);
      const uint32_t count = be32(p + 4);
      if (count > (usable() - 8) / 4) return;  // damaged trunk: what it lists is unknown
      for (uint32_t i = 0; i < count; ++i) free_.insert(be32(p + 8 + 4 * i));
      trunk = be32(p);
    }
  }

  std::string main_;
  std::string wal_;
  std::unordered_map<uint64_t, size_t> overlay_;       // page -> offset of its data in wal_
  std::vector<std::pair<uint64_t, size_t>> versions_;  // (page, offset in wal_), oldest first
  std::vector<size_t> transaction_end_;                // per versions_ entry
  std::unordered_map<uint64_t, std::vector<size_t>> version_index_;  // page -> its versions_
  uint64_t version_limit_ = 0;  // page numbers above it are damaged frame headers
  std::set<uint64_t> free_;
  uint32_t page_size_ = 0;
  uint32_t reserved_ = 0;
  uint64_t page_count_ = 0;
  bool header_ok_ = false;
};

// Reads a cell's payload of `size` bytes starting at `local_start` on page `p`, following the
// overflow chain when it does not fit; false when the cell or its chain is damaged.
bool read_payload(const PageReader& reader, int64_t as_of, const unsigned char* p,
                  size_t local_start, uint64_t size, bool table_leaf, std::string* out) {
  const uint64_t u = reader.usable();
  const uint64_t max_local = table_leaf ? u - 35 : ((u - 12) * 64 / 255) - 23;
  uint64_t local = size;
  if (size > max_local) {
    const uint64_t min_local = ((u - 12) * 32 / 255) - 23;
    const uint64_t k = min_local + ((size - min_local) % (u - 4));
    local = k <= max_local ? k : min_local;
  }
  if (size > (uint64_t{1} << 31) || local_start + local + (local < size ? 4 : 0) > u) return false;
  out->assign(reinterpret_cast<const char*>(p + local_start), static_cast<size_t>(local));
  if (local == size) return true;
  uint64_t next = be32(p + local_start + local);
  std::set<uint64_t> seen;
  while (out->size() < size) {
    if (next == 0 || next > reader.page_count() || !seen.insert(next).second) return false;
    const unsigned char* overflow = reader.page_as_of(next, as_of);
    if (overflow == nullptr) return false;
    const uint64_t take = std::min<uint64_t>(u - 4, size - out->size());
    out->append(reinterpret_cast<const char*>(overflow + 4), static_cast<size_t>(take));
    next = be32(overflow);
  }
  return true;
}

bool is_int(const Value& v) {
  return v.type == Value::Type::kInt;
}
bool is_text(const Value& v) {
  return v.type == Value::Type::kText;
}
bool is_bytes(const Value& v) {
  return v.type == Value::Type::kText || v.type == Value::Type::kBlob;
}

// A table row: which of the outbox's tables it belongs to, by its shape.
void classify_table_row(int64_t rowid, std::vector<Value>& v, SalvagedRows* rows) {
  if (v.size() == 8 && v[0].type == Value::Type::kNull && is_text(v[1]) && is_int(v[2]) &&
      is_text(v[3]) && is_int(v[7]) && rowid > 0) {
    if (is_bytes(v[4]) && is_int(v[5]) && is_int(v[6])) {
      SalvagedEntry e;
      e.seq = rowid;
      e.object = std::move(v[1].bytes);
      e.kind = v[2].number;
      e.match_key = std::move(v[3].bytes);
      e.payload = std::move(v[4].bytes);
      e.wall_ms = v[5].number;
      e.mono_ms = v[6].number;
      e.flags = v[7].number;
      if (!e.object.empty() && (e.kind == 0 || e.kind == 1))
        rows->entries.emplace(e.seq, std::move(e));
    } else if (is_text(v[4]) && is_bytes(v[5]) && is_text(v[6])) {
      SalvagedBatch b;
      b.id = rowid;
      b.object = std::move(v[1].bytes);
      b.kind = v[2].number;
      b.match_key = std::move(v[3].bytes);
      b.idempotency_key = std::move(v[4].bytes);
      b.body = std::move(v[5].bytes);
      b.sources = std::move(v[6].bytes);
      b.attempts = v[7].number;
      if (!b.object.empty() && (b.kind == 0 || b.kind == 1) && b.idempotency_key.size() == 36)
        rows->batches.emplace(b.id, std::move(b));
    }
    return;
  }
  if (v.size() == 13 && v[0].type == Value::Type::kNull && is_text(v[1]) && is_int(v[2]) &&
      is_text(v[3]) && is_bytes(v[4]) && is_int(v[5]) && is_int(v[6]) && is_int(v[7]) &&
      is_int(v[8]) && is_text(v[9]) && is_text(v[10]) && is_text(v[11]) && is_int(v[12])) {
    SalvagedDeadLetter d;
    d.object = std::move(v[1].bytes);
    d.kind = v[2].number;
    d.match_key = std::move(v[3].bytes);
    d.payload = std::move(v[4].bytes);
    d.wall_ms = v[5].number;
    d.mono_ms = v[6].number;
    d.flags = v[7].number;
    d.http_status = v[8].number;
    d.code = std::move(v[9].bytes);
    d.message = std::move(v[10].bytes);
    d.correlation_id = std::move(v[11].bytes);
    d.failed_at_ms = v[12].number;
    rows->dead_letters.push_back(std::move(d));
  }
}

void read_page(const PageReader& reader, uint64_t pgno, const unsigned char* p, int64_t as_of,
               SalvagedRows* rows) {
  if (p == nullptr) return;
  const size_t header = pgno == 1 ? 100 : 0;
  const uint8_t type = p[header];
  const bool table_leaf = type == 0x0d;
  const bool index_leaf = type == 0x0a;
  const bool index_interior = type == 0x02;
  if (!table_leaf && !index_leaf && !index_interior) return;  // interior, overflow, free or damaged
  const size_t u = reader.usable();
  const size_t header_size = index_interior ? 12 : 8;
  const uint32_t cells = be16(p + header + 3);
  if (header + header_size + 2 * static_cast<size_t>(cells) > u) {
    ++rows->unreadable_pages;
    return;
  }
  bool damaged = false;
  for (uint32_t i = 0; i < cells; ++i) {
    const size_t off = be16(p + header + header_size + 2 * i);
    if (off < header + header_size || off >= u) {
      damaged = true;
      continue;
    }
    const unsigned char* cell = p + off;
    const unsigned char* end = p + u;
    size_t pos = index_interior ? 4 : 0;
    uint64_t size = 0;
    size_t n = varint(cell + pos, end, &size);
    if (n == 0) {
      damaged = true;
      continue;
    }
    pos += n;
    uint64_t rowid = 0;
    if (table_leaf) {
      n = varint(cell + pos, end, &rowid);
      if (n == 0) {
        damaged = true;
        continue;
      }
      pos += n;
    }
    std::string payload;
    std::vector<Value> values;
    if (!read_payload(reader, as_of, p, off + pos, size, table_leaf, &payload) ||
        !decode_record(payload, &values)) {
      damaged = true;
      continue;
    }
    if (table_leaf) {
      classify_table_row(static_cast<int64_t>(rowid), values, rows);
    } else if (values.size() == 2 && is_text(values[0]) && is_bytes(values[1])) {
      rows->meta[values[0].bytes].push_back(std::move(values[1].bytes));
    }
  }
  if (damaged) ++rows->unreadable_pages;
}

}  // namespace

bool wal_damaged(const std::string& wal_path) {
  const std::string first = read_all(wal_path);
  if (!scan_wal(first).damaged_middle) return false;
  // Another process may be writing (or restarting) the WAL while it is read: damage is only
  // what reads the same twice.
  return read_all(wal_path) == first;
}

SalvagedRows salvage_rows(const std::string& path, const std::string& wal_path) {
  SalvagedRows rows;
  PageReader reader(path, wal_path);
  rows.header_ok = reader.header_ok();
  rows.wal_used = reader.wal_used();
  for (uint64_t pgno = 1; pgno <= reader.page_count(); ++pgno) {
    if (reader.is_free(pgno)) continue;
    ++rows.pages;
    read_page(reader, pgno, reader.page(pgno), PageReader::kNewest, &rows);
  }
  // Batch rows in older versions of pages: a batch may have been sent although the newest
  // version of its page no longer shows it (see SalvagedRows::batch_history).
  reader.for_each_version([&](uint64_t pgno, const unsigned char* p, int64_t as_of) {
    SalvagedRows version;
    read_page(reader, pgno, p, as_of, &version);
    for (auto& b : version.batches) {
      const std::string key = b.second.idempotency_key;
      rows.batch_history.emplace(key, std::move(b.second));
    }
  });
  return rows;
}

}  // namespace outbox
}  // namespace experiture
