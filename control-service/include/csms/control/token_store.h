#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/control/token_rules.h"
#include "csms/control/v1/tokens.pb.h"

namespace csms::control {

// Id tokens (tokens, token_deletions, token_audit; migration 0012). Tokens are keyed by (type,
// lower(id_token)); every write takes a fresh change_seq from token_change_seq (a deletion
// leaves a tombstone with one), so local authorization lists can follow the changes.
class TokenStore {
 public:
  explicit TokenStore(pg::Pool& pool) : pool_(pool) {}

  struct PutResult {
    v1::Token token;
    bool created = false;
  };
  // Creates or replaces `token` (already validated) and audits the change as `actor`.
  PutResult Put(const TokenRecord& token, const std::string& actor);
  // The token, matched case-insensitively: one indexed SELECT (the Authorize hot path).
  std::optional<v1::Token> Find(const std::string& type, const std::string& id_token);
  // Find inside the caller's transaction; `lock` takes the row FOR UPDATE (serializes decisions
  // that count the token's concurrent transactions).
  // The column list FromRow reads (for a caller's own query: `SELECT <Columns()> FROM tokens`).
  static const char* Columns();
  static v1::Token FromRow(const pqxx::row& row);
  static std::optional<v1::Token> FindIn(pqxx::transaction_base& txn, const std::string& type,
                                         const std::string& id_token, bool lock);
  // Deletes the token, leaves its tombstone and audits it; nullopt when there was none.
  std::optional<v1::Token> Delete(const std::string& type, const std::string& id_token,
                                  const std::string& actor);

  struct Page {
    std::vector<v1::Token> tokens;
    std::string next_cursor;
  };
  // By (type, id_token); "" filters are no filter. `id_prefix`: only ids that start with it,
  // case-insensitively (an index range where the database sorts text by code point, as C and
  // C.UTF-8 do). Throws std::invalid_argument for a bad cursor.
  Page List(const std::string& account_id, const std::string& status, int limit,
            const std::string& cursor, const std::string& id_prefix = "");

  struct ImportLine {
    int64_t line = 0;
    TokenRecord token;  // validated
  };
  // Upserts a batch in one transaction, set-based (a token named twice: the later line wins),
  // with one audit row summarizing it. Answers how many lines were stored.
  int64_t Import(const std::vector<ImportLine>& lines, const std::string& actor,
                 const std::string& format, int64_t failed);

  struct AuditPage {
    std::vector<v1::TokenAuditEntry> entries;
    std::string next_cursor;
  };
  // Newest first; with `type` and `id_token`, only that token's entries.
  AuditPage ListAudit(const std::string& type, const std::string& id_token, int limit,
                      const std::string& cursor);

  // The highest change sequence number handed out so far (0 before any).
  int64_t LastChangeSeq();

 private:
  // Whether the database compares text by code point, so a prefix is an index range: -1 not
  // known yet.
  bool CodePointOrder(pqxx::connection& conn);

  pg::Pool& pool_;
  std::atomic<int> code_point_order_{-1};
};

}  // namespace csms::control
