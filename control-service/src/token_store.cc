#include "csms/control/token_store.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "csms/common/api_auth.h"
#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

constexpr const char* kTokenColumns =
    "type, id_token, id_key, status, extract(epoch from expires_at)::float8 AS expires,"
    " group_type, group_id_token, account_id, max_concurrent,"
    " array_to_json(stations)::text AS stations_json, language, personal_message,"
    " extract(epoch from created_at)::float8 AS created,"
    " extract(epoch from updated_at)::float8 AS updated, change_seq";

// The token as the audit log keeps it (the REST shape).
constexpr const char* kTokenJson =
    "jsonb_build_object('type', type, 'id_token', id_token, 'status', status,"
    " 'expires_at', expires_at, 'group', CASE WHEN group_type IS NULL THEN NULL"
    " ELSE jsonb_build_object('id_token', group_id_token, 'type', group_type) END,"
    " 'account_id', account_id, 'max_concurrent', max_concurrent, 'stations', to_jsonb(stations),"
    " 'language', language, 'personal_message', personal_message)";

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
  *out = ToProto(pg::FromEpochSeconds(f.as<double>()));
}

std::string Text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

v1::Token TokenFromRow(const pqxx::row& row) {
  v1::Token t;
  t.set_type(row["type"].as<std::string>());
  t.set_id_token(row["id_token"].as<std::string>());
  t.set_status(row["status"].as<std::string>());
  if (!row["expires"].is_null()) SetTime(row["expires"], t.mutable_expires_at());
  if (!row["group_type"].is_null()) {
    t.mutable_group()->set_type(row["group_type"].as<std::string>());
    t.mutable_group()->set_id_token(row["group_id_token"].as<std::string>());
  }
  t.set_account_id(Text(row["account_id"]));
  t.set_max_concurrent(row["max_concurrent"].as<int32_t>());
  if (!row["stations_json"].is_null()) {
    auto* stations = t.mutable_stations();
    for (const auto& s : nlohmann::json::parse(row["stations_json"].as<std::string>())) {
      stations->add_station_ids(s.get<std::string>());
    }
  }
  t.set_language(Text(row["language"]));
  t.set_personal_message(Text(row["personal_message"]));
  SetTime(row["created"], t.mutable_created_at());
  SetTime(row["updated"], t.mutable_updated_at());
  t.set_change_seq(row["change_seq"].as<int64_t>());
  return t;
}

std::optional<std::string> OptTime(const std::optional<TimePoint>& t) {
  return t ? std::optional(pg::TimestampText(*t)) : std::nullopt;
}

std::optional<std::string> OptStations(const std::optional<std::vector<std::string>>& stations) {
  return stations ? std::optional(pg::TextArray(*stations)) : std::nullopt;
}

// The cursor of a token list: 'k' and the hex of "type\nid_key".
std::string KeyCursor(const std::string& type, const std::string& id_key) {
  return "k" + auth::ToHex(type + "\n" + id_key);
}

std::pair<std::string, std::string> ParseKeyCursor(const std::string& cursor) {
  std::optional<std::string> raw;
  if (cursor.size() > 1 && cursor[0] == 'k') raw = auth::FromHex(cursor.substr(1));
  auto newline = raw ? raw->find('\n') : std::string::npos;
  if (newline == std::string::npos) throw std::invalid_argument("bad cursor");
  return {raw->substr(0, newline), raw->substr(newline + 1)};
}

}  // namespace

TokenStore::PutResult TokenStore::Put(const TokenRecord& token, const std::string& actor) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    auto before =
        txn.exec_params(std::string("SELECT ") + kTokenJson +
                            "::text FROM tokens WHERE type = $1 AND id_key = lower($2) FOR UPDATE",
                        token.type, token.id_token);
    std::optional<std::string> before_json;
    if (!before.empty()) before_json = before[0][0].as<std::string>();
    auto row = txn.exec_params1(
        std::string("WITH up AS (INSERT INTO tokens (type, id_token, id_key, status, expires_at,"
                    " group_type, group_id_token, account_id, max_concurrent, stations, language,"
                    " personal_message) VALUES ($1, $2, lower($2), $3, $4::timestamptz, $5, $6,"
                    " $7, $8, $9::text[], $10, $11)"
                    " ON CONFLICT (type, id_key) DO UPDATE SET id_token = EXCLUDED.id_token,"
                    " status = EXCLUDED.status, expires_at = EXCLUDED.expires_at,"
                    " group_type = EXCLUDED.group_type, group_id_token = EXCLUDED.group_id_token,"
                    " account_id = EXCLUDED.account_id, max_concurrent = EXCLUDED.max_concurrent,"
                    " stations = EXCLUDED.stations, language = EXCLUDED.language,"
                    " personal_message = EXCLUDED.personal_message, updated_at = now(),"
                    " change_seq = nextval('token_change_seq')"
                    " RETURNING ") +
            kTokenColumns + ", (xmax = 0) AS was_created, " + kTokenJson +
            " AS j),"
            " audit AS (INSERT INTO token_audit (actor, action, type, id_token, before, after)"
            " SELECT $12, CASE WHEN was_created THEN 'created' ELSE 'replaced' END, type, id_token,"
            " $13::jsonb, j FROM up)"
            " SELECT * FROM up",
        token.type, token.id_token, token.status, OptTime(token.expires_at), token.group_type,
        token.group_id_token, token.account_id, token.max_concurrent, OptStations(token.stations),
        token.language, token.personal_message, actor, before_json);
    return PutResult{TokenFromRow(row), row["was_created"].as<bool>()};
  });
}

std::optional<v1::Token> TokenStore::Find(const std::string& type, const std::string& id_token) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return FindIn(txn, type, id_token, /*lock=*/false);
  });
}

const char* TokenStore::Columns() { return kTokenColumns; }

v1::Token TokenStore::FromRow(const pqxx::row& row) { return TokenFromRow(row); }

std::optional<v1::Token> TokenStore::FindIn(pqxx::transaction_base& txn, const std::string& type,
                                            const std::string& id_token, bool lock) {
  // Prepared: the Authorize and TransactionEvent hot paths.
  static const std::string kFind = std::string("SELECT ") + kTokenColumns +
                                   " FROM tokens WHERE type = $1 AND id_key = lower($2)";
  static const std::string kFindLocked = kFind + " FOR UPDATE";
  auto rows = lock ? pg::ExecPrepared(txn, "token_find_locked", kFindLocked, type, id_token)
                   : pg::ExecPrepared(txn, "token_find", kFind, type, id_token);
  if (rows.empty()) return std::nullopt;
  return TokenFromRow(rows[0]);
}

std::optional<v1::Token> TokenStore::Delete(const std::string& type, const std::string& id_token,
                                            const std::string& actor) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<v1::Token> {
    auto rows = txn.exec_params(
        std::string("WITH d AS (DELETE FROM tokens WHERE type = $1 AND id_key = lower($2)"
                    " RETURNING ") +
            kTokenColumns + ", " + kTokenJson +
            " AS j),"
            " tomb AS (INSERT INTO token_deletions (type, id_key) SELECT type, id_key FROM d),"
            " audit AS (INSERT INTO token_audit (actor, action, type, id_token, before)"
            " SELECT $3, 'deleted', type, id_token, j FROM d)"
            " SELECT * FROM d",
        type, id_token, actor);
    if (rows.empty()) return std::nullopt;
    return TokenFromRow(rows[0]);
  });
}

bool TokenStore::CodePointOrder(pqxx::connection& conn) {
  int known = code_point_order_.load();
  if (known < 0) {
    // By behaviour rather than by locale name (C, POSIX, C.UTF-8, an ICU or libc locale):
    // linguistic collations put 'a' before 'B', ignore punctuation and sort 'é' by its letter.
    pqxx::nontransaction txn(conn);
    known = txn.exec1("SELECT 'a' > 'B' AND '-z' < '.' AND 'é' > 'f'")[0].as<bool>() ? 1 : 0;
    code_point_order_.store(known);
  }
  return known == 1;
}

TokenStore::Page TokenStore::List(const std::string& account_id, const std::string& status,
                                  int limit, const std::string& cursor,
                                  const std::string& id_prefix) {
  std::optional<std::string> after_type, after_key;
  if (!cursor.empty()) {
    auto [type, key] = ParseKeyCursor(cursor);
    after_type = type;
    after_key = key;
  }
  return pool_.Run([&](pqxx::connection& conn) {
    // A prefix is always checked with starts_with. Where text sorts by code point it is also the
    // key range [prefix, prefix || U+10FFFF) within each type, which the primary key (type,
    // id_key) or tokens_by_status serves: one index descent per type. (An id with U+10FFFF, a
    // noncharacter, right after the prefix is not found.)
    std::string prefix_clause = " AND ($6 = '' OR starts_with(id_key, lower($6)))";
    if (!id_prefix.empty() && CodePointOrder(conn)) {
      prefix_clause +=
          " AND type = ANY(ARRAY['Central', 'eMAID', 'ISO14443', 'ISO15693', 'KeyCode',"
          " 'Local', 'MacAddress', 'NoAuthorization']) AND id_key >= lower($6)"
          " AND id_key < lower($6) || chr(1114111)";
    }
    pqxx::read_transaction txn(conn);
    Page page;
    std::string last_type, last_key;
    for (const auto& row : txn.exec_params(
             std::string("SELECT ") + kTokenColumns +
                 " FROM tokens WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR status = $2)"
                 " AND ($3::text IS NULL OR (type, id_key) > ($3::text, $4::text))" +
                 prefix_clause + " ORDER BY type, id_key LIMIT $5",
             account_id, status, after_type, after_key, limit + 1, id_prefix)) {
      if (static_cast<int>(page.tokens.size()) == limit) {
        page.next_cursor = KeyCursor(last_type, last_key);
        break;
      }
      last_type = row["type"].as<std::string>();
      last_key = row["id_key"].as<std::string>();
      page.tokens.push_back(TokenFromRow(row));
    }
    return page;
  });
}

int64_t TokenStore::Import(const std::vector<ImportLine>& lines, const std::string& actor,
                           const std::string& format, int64_t failed) {
  if (lines.empty() && failed == 0) return 0;
  pg::ArrayLiteral types, ids, statuses, expires, group_types, group_ids, accounts, max_concurrent,
      stations, languages, messages, order;
  int64_t first_line = 0, last_line = 0;
  for (const auto& l : lines) {
    const TokenRecord& t = l.token;
    types.Text(t.type);
    ids.Text(t.id_token);
    statuses.Text(t.status);
    expires.OptText(OptTime(t.expires_at));
    group_types.OptText(t.group_type);
    group_ids.OptText(t.group_id_token);
    accounts.OptText(t.account_id);
    max_concurrent.Int(t.max_concurrent);
    stations.OptText(OptStations(t.stations));
    languages.OptText(t.language);
    messages.OptText(t.personal_message);
    order.Int(l.line);
    if (first_line == 0) first_line = l.line;
    last_line = l.line;
  }
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    if (!lines.empty()) {
      // A token named twice in one batch: the later line wins (one statement cannot update a
      // row twice). Ordered by key, so concurrent imports lock in the same order.
      txn.exec_params0(
          "INSERT INTO tokens (type, id_token, id_key, status, expires_at, group_type,"
          " group_id_token, account_id, max_concurrent, stations, language, personal_message)"
          " SELECT DISTINCT ON (u.type, lower(u.id_token)) u.type, u.id_token, lower(u.id_token),"
          " u.status, u.expires_at::timestamptz, u.group_type, u.group_id_token, u.account_id,"
          " u.max_concurrent, u.stations::text[], u.language, u.personal_message"
          " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
          " $7::text[], $8::int[], $9::text[], $10::text[], $11::text[], $12::bigint[])"
          " AS u (type, id_token, status, expires_at, group_type, group_id_token, account_id,"
          " max_concurrent, stations, language, personal_message, ord)"
          " ORDER BY u.type, lower(u.id_token), u.ord DESC"
          " ON CONFLICT (type, id_key) DO UPDATE SET id_token = EXCLUDED.id_token,"
          " status = EXCLUDED.status, expires_at = EXCLUDED.expires_at,"
          " group_type = EXCLUDED.group_type, group_id_token = EXCLUDED.group_id_token,"
          " account_id = EXCLUDED.account_id, max_concurrent = EXCLUDED.max_concurrent,"
          " stations = EXCLUDED.stations, language = EXCLUDED.language,"
          " personal_message = EXCLUDED.personal_message, updated_at = now(),"
          " change_seq = nextval('token_change_seq')",
          types.str(), ids.str(), statuses.str(), expires.str(), group_types.str(), group_ids.str(),
          accounts.str(), max_concurrent.str(), stations.str(), languages.str(), messages.str(),
          order.str());
    }
    txn.exec_params0(
        "INSERT INTO token_audit (actor, action, after) VALUES ($1, 'imported',"
        " jsonb_build_object('format', $2::text, 'count', $3::bigint, 'failed', $4::bigint,"
        " 'first_line', $5::bigint, 'last_line', $6::bigint))",
        actor, format, static_cast<int64_t>(lines.size()), failed,
        first_line ? std::optional<int64_t>(first_line) : std::nullopt,
        last_line ? std::optional<int64_t>(last_line) : std::nullopt);
    return static_cast<int64_t>(lines.size());
  });
}

TokenStore::AuditPage TokenStore::ListAudit(const std::string& type, const std::string& id_token,
                                            int limit, const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('a', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    AuditPage page;
    for (const auto& row : txn.exec_params(
             "SELECT id, extract(epoch from at)::float8 AS at, actor, action, type, id_token,"
             " before::text, after::text FROM token_audit"
             " WHERE ($1 = '' OR (type = $1 AND lower(id_token) = lower($2)))"
             " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
             type, id_token, before, limit + 1)) {
      if (static_cast<int>(page.entries.size()) == limit) {
        page.next_cursor = pg::IdCursor('a', page.entries.back().id());
        break;
      }
      v1::TokenAuditEntry e;
      e.set_id(row["id"].as<int64_t>());
      SetTime(row["at"], e.mutable_at());
      e.set_actor(row["actor"].as<std::string>());
      e.set_action(row["action"].as<std::string>());
      e.set_type(Text(row["type"]));
      e.set_id_token(Text(row["id_token"]));
      e.set_before_json(Text(row["before"]));
      e.set_after_json(Text(row["after"]));
      page.entries.push_back(std::move(e));
    }
    return page;
  });
}

int64_t TokenStore::LastChangeSeq() {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    auto row =
        txn.exec1("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM token_change_seq");
    return row[0].as<int64_t>();
  });
}

}  // namespace csms::control
