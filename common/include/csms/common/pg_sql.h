#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"

// Small helpers every store of every service writes its SQL with.
namespace csms::pg {

// Runs fn(txn) in one read-write transaction on a pooled connection and commits.
template <typename Fn>
auto Transact(Pool& pool, Fn&& fn) {
  return pool.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    if constexpr (std::is_void_v<decltype(fn(txn))>) {
      fn(txn);
      txn.commit();
    } else {
      auto result = fn(txn);
      txn.commit();
      return result;
    }
  });
}

// Defines the statement `name` on this connection (a no-op once defined; pqxx prepares it on
// first use) and runs it: hot statements are parsed and planned once per connection.
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& txn, const char* name, const std::string& sql,
                          Args&&... args) {
  txn.conn().prepare(name, sql);
  return txn.exec_prepared(name, std::forward<Args>(args)...);
}

// For a transaction whose statements all find their rows by key (the hot write paths): each
// prepared statement is planned once per connection, and never as a sequential scan. PostgreSQL's
// default re-plans a statement on every run while its own plan looks cheaper (costly for the
// batch statements' dozens of arrays), and a generic plan made while a new database's tables
// were a page or two is a hash join over a sequential scan that then reads the whole growing
// table on every run, until autovacuum's first ANALYZE. One round trip; ends with the transaction.
void UseKeyLookupPlans(pqxx::transaction_base& txn);
// The same for every statement of a pool that serves only such lookups (Pool's settings).
SessionSettings KeyLookupSettings();
// UseKeyLookupPlans unless `pool`'s sessions plan that way already (then no round trip).
void UseKeyLookupPlans(pqxx::transaction_base& txn, const Pool& pool);

// Timestamps go to PostgreSQL as RFC 3339 text with milliseconds (the precision they are stored
// and compared with) and come back as epoch seconds (extract(epoch from ...)).
std::string TimestampText(TimePoint t);
std::string TimestampTextMs(int64_t epoch_ms);
int64_t EpochMs(TimePoint t);
TimePoint FromEpochSeconds(double seconds);
// NULL reads as nullopt.
std::optional<TimePoint> OptionalTime(const pqxx::field& f);

// Paging by id, newest first: the cursor is `prefix` and the last id of the page, opaque to
// clients (each list has its own prefix, so one list's cursor is refused by another).
std::string IdCursor(char prefix, int64_t id);
// Throws std::invalid_argument for a cursor IdCursor(prefix, ...) did not make.
int64_t ParseIdCursor(char prefix, const std::string& cursor);

// The text form of a PostgreSQL array ({"a",NULL,"b"}) for one parameter cast in SQL
// ($1::text[]), so a batch of any size is one statement with a fixed number of parameters.
class ArrayLiteral {
 public:
  ArrayLiteral& Text(std::string_view v);
  ArrayLiteral& Null();
  ArrayLiteral& OptText(const std::optional<std::string>& v) { return v ? Text(*v) : Null(); }
  ArrayLiteral& OptText(const char* v) { return v ? Text(v) : Null(); }  // null pointer: NULL
  ArrayLiteral& Int(int64_t v);
  ArrayLiteral& OptInt(const std::optional<int64_t>& v) { return v ? Int(*v) : Null(); }
  ArrayLiteral& Bool(bool v);
  // NaN and the infinities as PostgreSQL spells them.
  ArrayLiteral& Double(double v);
  // Epoch milliseconds as a timestamp.
  ArrayLiteral& OptTimeMs(const std::optional<int64_t>& ms) {
    return ms ? Text(TimestampTextMs(*ms)) : Null();
  }
  bool empty() const { return text_.size() == 1; }
  std::string str() const { return text_ + "}"; }

 private:
  void Separate() {
    if (text_.size() > 1) text_ += ',';
  }
  std::string text_ = "{";
};

// An array literal of `items`, each added by add(literal, item).
template <typename Container, typename Fn>
std::string ArrayOf(const Container& items, Fn&& add) {
  ArrayLiteral a;
  for (const auto& item : items) add(a, item);
  return a.str();
}

// The common case: an array of text.
template <typename Container>
std::string TextArray(const Container& items) {
  return ArrayOf(items, [](ArrayLiteral& a, std::string_view s) { a.Text(s); });
}

}  // namespace csms::pg
