#include "csms/control/log_upload_store.h"

#include <openssl/rand.h>

#include <map>
#include <stdexcept>
#include <utility>

#include "csms/common/api_auth.h"
#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

bool Final(const LogUploadState& upload) { return upload.outcome != "in_progress"; }

// The token's hash as the SQL sees it: decode($n, 'hex').
std::string TokenHashHex(const std::string& token) { return auth::ToHex(auth::Sha256(token)); }

constexpr const char* kUploadColumns =
    "id, charger_id, request_id, log_type, state, outcome, filename, received_filename,"
    " content_type, size_bytes, coalesce(encode(sha256, 'hex'), '') AS sha256_hex,"
    " extract(epoch from received_at)::float8 AS received,"
    " requested_by, extract(epoch from created_at)::float8 AS created,"
    " extract(epoch from updated_at)::float8 AS updated,"
    " extract(epoch from expires_at)::float8 AS expires,"
    " extract(epoch from oldest_at)::float8 AS oldest,"
    " extract(epoch from latest_at)::float8 AS latest, client_address, detail";

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
  *out = ToProto(pg::FromEpochSeconds(f.as<double>()));
}

v1::LogUpload UploadFromRow(const pqxx::row& row) {
  v1::LogUpload u;
  u.set_upload_id(row["id"].as<int64_t>());
  u.set_charger_id(row["charger_id"].as<std::string>());
  u.set_request_id(row["request_id"].as<int32_t>());
  u.set_log_type(row["log_type"].as<std::string>());
  u.set_state(row["state"].as<std::string>());
  u.set_outcome(row["outcome"].as<std::string>());
  u.set_filename(row["filename"].as<std::string>());
  u.set_received_filename(row["received_filename"].as<std::string>());
  u.set_content_type(row["content_type"].as<std::string>());
  u.set_size_bytes(row["size_bytes"].as<int64_t>());
  u.set_sha256(row["sha256_hex"].as<std::string>());
  if (!row["received"].is_null()) SetTime(row["received"], u.mutable_received_at());
  u.set_requested_by(row["requested_by"].as<std::string>());
  SetTime(row["created"], u.mutable_created_at());
  SetTime(row["updated"], u.mutable_updated_at());
  SetTime(row["expires"], u.mutable_expires_at());
  if (!row["oldest"].is_null()) SetTime(row["oldest"], u.mutable_oldest());
  if (!row["latest"].is_null()) SetTime(row["latest"], u.mutable_latest());
  u.set_client_address(row["client_address"].as<std::string>());
  u.set_detail(row["detail"].as<std::string>());
  return u;
}

std::optional<std::string> OptTime(const std::optional<TimePoint>& t) {
  return t ? std::optional(pg::TimestampText(*t)) : std::nullopt;
}

}  // namespace

LogUploadState OnLogAnswer(const LogUploadState& upload, std::string_view status) {
  if (Final(upload)) return upload;
  LogUploadState next = upload;
  if (status == "Accepted" || status == "AcceptedCanceled") {
    if (upload.state == "Requested") next.state = "Accepted";
    return next;
  }
  next.state = std::string(status);
  next.outcome = "rejected";
  return next;
}

LogUploadState OnLogStatus(const LogUploadState& upload, std::string_view status) {
  if (Final(upload)) return upload;
  LogUploadState next = upload;
  next.state = std::string(status);
  if (status == "Uploaded") {
    next.outcome = "uploaded";
  } else if (status == "UploadFailure" || status == "BadMessage" ||
             status == "NotSupportedOperation" || status == "PermissionDenied") {
    next.outcome = "failed";
  } else if (status == "AcceptedCanceled") {
    next.outcome = "canceled";
  }
  return next;
}

std::string NewUploadToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
  return auth::ToHex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

v1::LogUpload LogUploadStore::Create(const NewLogUpload& upload) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return UploadFromRow(txn.exec_params1(
        std::string("INSERT INTO log_uploads (charger_id, request_id, log_type, token_sha256,"
                    " expires_at, oldest_at, latest_at, requested_by)"
                    " VALUES ($1, nextval('ocpp_request_id_seq')::integer, $2, decode($3, 'hex'),"
                    " now() + make_interval(secs => $4), $5::timestamptz, $6::timestamptz, $7)"
                    " RETURNING ") +
            kUploadColumns,
        upload.charger_id, upload.log_type, TokenHashHex(upload.token),
        static_cast<double>(upload.token_ttl.count()), OptTime(upload.oldest),
        OptTime(upload.latest), upload.requested_by));
  });
}

v1::LogUpload LogUploadStore::Answered(const std::string& charger_id, int32_t request_id,
                                       std::string_view status, const std::string& filename) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    auto row = txn.exec_params1(
        "SELECT id, state, outcome FROM log_uploads WHERE charger_id = $1 AND request_id = $2"
        " FOR UPDATE",
        charger_id, request_id);
    const int64_t id = row[0].as<int64_t>();
    const LogUploadState next =
        OnLogAnswer({row[1].as<std::string>(), row[2].as<std::string>()}, status);
    if (status == "AcceptedCanceled") {
      txn.exec_params0(
          "UPDATE log_uploads SET outcome = 'canceled', updated_at = now(),"
          " detail = 'replaced by a newer log upload request'"
          " WHERE charger_id = $1 AND id < $2 AND outcome = 'in_progress'",
          charger_id, id);
    }
    return UploadFromRow(txn.exec_params1(
        std::string("UPDATE log_uploads SET state = $2, outcome = $3, updated_at = now(),"
                    " filename = $4 WHERE id = $1 RETURNING ") +
            kUploadColumns,
        id, next.state, next.outcome, filename));
  });
}

void LogUploadStore::CallFailed(const std::string& charger_id, int32_t request_id,
                                const std::string& detail) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE log_uploads SET outcome = 'failed', updated_at = now(), detail = $3"
        " WHERE charger_id = $1 AND request_id = $2 AND outcome = 'in_progress'"
        " AND state = 'Requested'",
        charger_id, request_id, detail);
  });
}

LogUploadStore::Page LogUploadStore::List(const std::string& charger_id, int limit,
                                          const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('u', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    Page page;
    // One more than asked tells whether there is a next page.
    for (const auto& row : txn.exec_params(
             std::string("SELECT ") + kUploadColumns +
                 " FROM log_uploads WHERE charger_id = $1 AND ($2::bigint IS NULL OR id < $2)"
                 " ORDER BY id DESC LIMIT $3",
             charger_id, before, limit + 1)) {
      if (static_cast<int>(page.uploads.size()) == limit) {
        page.next_cursor = pg::IdCursor('u', page.uploads.back().upload_id());
        break;
      }
      page.uploads.push_back(UploadFromRow(row));
    }
    return page;
  });
}

std::optional<v1::LogUpload> LogUploadStore::Get(const std::string& charger_id, int64_t upload_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<v1::LogUpload> {
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params(std::string("SELECT ") + kUploadColumns +
                                    " FROM log_uploads WHERE charger_id = $1 AND id = $2",
                                charger_id, upload_id);
    if (rows.empty()) return std::nullopt;
    return UploadFromRow(rows[0]);
  });
}

std::optional<LogChunk> LogUploadStore::ReadChunk(int64_t upload_id, int32_t chunk) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<LogChunk> {
    pqxx::read_transaction txn(conn);
    auto rows = txn.exec_params(
        "SELECT c.data, NOT EXISTS (SELECT 1 FROM log_upload_chunks n WHERE n.upload_id = u.id"
        "  AND n.attempt = u.content_attempt AND n.seq > c.seq)"
        " FROM log_uploads u JOIN log_upload_chunks c"
        "  ON c.upload_id = u.id AND c.attempt = u.content_attempt"
        " WHERE u.id = $1 AND c.seq = $2",
        upload_id, chunk);
    if (rows.empty()) return std::nullopt;
    return LogChunk{pqxx::binarystring(rows[0][0]).str(), rows[0][1].as<bool>()};
  });
}

std::optional<v1::OpenLogUploadResponse> LogUploadStore::Open(const std::string& token) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<v1::OpenLogUploadResponse> {
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params(
        "SELECT id, charger_id FROM log_uploads WHERE token_sha256 = decode($1, 'hex')"
        " AND expires_at > now() AND outcome NOT IN ('rejected', 'canceled', 'expired')",
        TokenHashHex(token));
    if (rows.empty()) return std::nullopt;
    v1::OpenLogUploadResponse out;
    out.set_upload_id(rows[0][0].as<int64_t>());
    out.set_charger_id(rows[0][1].as<std::string>());
    return out;
  });
}

std::optional<StoredChunk> LogUploadStore::StoreChunk(const v1::StoreLogUploadChunkRequest& chunk) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<StoredChunk> {
    // Locks the upload: two attempts finishing at once take turns, and the later one wins.
    auto rows = txn.exec_params(
        "SELECT id FROM log_uploads WHERE token_sha256 = decode($1, 'hex') AND expires_at > now()"
        " AND outcome NOT IN ('rejected', 'canceled', 'expired') FOR UPDATE",
        TokenHashHex(chunk.token()));
    if (rows.empty()) return std::nullopt;
    StoredChunk out;
    out.upload_id = rows[0][0].as<int64_t>();
    txn.exec_params0(
        "INSERT INTO log_upload_chunks (upload_id, attempt, seq, data) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (upload_id, attempt, seq) DO UPDATE SET data = EXCLUDED.data",
        out.upload_id, chunk.attempt(), chunk.seq(), pqxx::binarystring(chunk.data()));
    if (!chunk.last()) return out;

    auto sum = txn.exec_params1(
        "SELECT count(*), coalesce(sum(length(data)), 0), max(seq),"
        " encode(sha256(coalesce(string_agg(data, ''::bytea ORDER BY seq), ''::bytea)), 'hex')"
        " FROM log_upload_chunks WHERE upload_id = $1 AND attempt = $2",
        out.upload_id, chunk.attempt());
    const int64_t count = sum[0].as<int64_t>();
    const int64_t size = sum[1].as<int64_t>();
    if (count != chunk.seq() + 1 || sum[2].as<int64_t>() != chunk.seq() ||
        size != chunk.size_bytes()) {
      throw std::invalid_argument("upload attempt incomplete: " + std::to_string(count) +
                                  " chunks, " + std::to_string(size) + " bytes stored; expected " +
                                  std::to_string(chunk.seq() + 1) + " chunks, " +
                                  std::to_string(chunk.size_bytes()) + " bytes");
    }
    out.size_bytes = size;
    out.sha256_hex = sum[3].as<std::string>();
    txn.exec_params0("DELETE FROM log_upload_chunks WHERE upload_id = $1 AND attempt <> $2",
                     out.upload_id, chunk.attempt());
    txn.exec_params0(
        "UPDATE log_uploads SET content_attempt = $2, received_filename = $3, content_type = $4,"
        " client_address = $5, size_bytes = $6, sha256 = decode($7, 'hex'),"
        " received_at = now(), updated_at = now(),"
        " detail = CASE WHEN detail LIKE 'the charger reported Uploaded%' THEN '' ELSE detail END"
        " WHERE id = $1",
        out.upload_id, chunk.attempt(), chunk.filename(), chunk.content_type(),
        chunk.client_address(), size, out.sha256_hex);
    return out;
  });
}

std::string LogUploadStore::GatewayPublicUrl(const std::string& gateway_address) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params(
        "SELECT public_base_url FROM gateway_public_urls WHERE gateway_address = $1",
        gateway_address);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
  });
}

void LogUploadStore::RememberGatewayPublicUrl(const std::string& gateway_address,
                                              const std::string& url) {
  pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    txn.exec_params0(
        "INSERT INTO gateway_public_urls (gateway_address, public_base_url) VALUES ($1, $2)"
        " ON CONFLICT (gateway_address) DO UPDATE SET public_base_url = EXCLUDED.public_base_url,"
        " updated_at = now() WHERE gateway_public_urls.public_base_url <> EXCLUDED.public_base_url",
        gateway_address, url);
  });
}

void LogUploadStore::Maintain(std::chrono::hours retention) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec0(
        "UPDATE log_uploads SET state = 'Expired', outcome = 'expired', updated_at = now(),"
        " detail = 'the upload URL expired before any bytes arrived'"
        " WHERE outcome = 'in_progress' AND expires_at < now() AND content_attempt IS NULL");
    txn.exec0(
        "DELETE FROM log_upload_chunks c USING log_uploads u WHERE c.upload_id = u.id"
        " AND c.attempt IS DISTINCT FROM u.content_attempt"
        " AND c.stored_at < now() - interval '1 hour'");
    if (retention.count() > 0) {
      txn.exec_params0(
          "DELETE FROM log_uploads WHERE created_at < now() - make_interval(hours => $1)",
          static_cast<int>(retention.count()));
    }
  });
}

void LogUploadStore::ApplyStatuses(pqxx::work& txn,
                                   const std::vector<const v1::ChargerEvent*>& events) {
  std::vector<const v1::ChargerEvent*> statuses;
  for (const auto* e : events) {
    if (e->kind() == "LogStatusNotification" && e->has_request_id()) statuses.push_back(e);
  }
  if (statuses.empty()) return;
  pg::ArrayLiteral ids, requests;
  for (const auto* e : statuses) {
    ids.Text(e->charger_id());
    requests.Int(e->request_id());
  }
  std::map<std::pair<std::string, int32_t>, LogUploadState> uploads;
  for (const auto& row :
       txn.exec_params("SELECT l.charger_id, l.request_id, l.state, l.outcome FROM log_uploads l"
                       " JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int[])) AS u (id, req)"
                       " ON l.charger_id = u.id AND l.request_id = u.req"
                       " WHERE l.outcome = 'in_progress' ORDER BY l.id FOR UPDATE OF l",
                       ids.str(), requests.str())) {
    uploads[{row[0].as<std::string>(), row[1].as<int32_t>()}] = {row[2].as<std::string>(),
                                                                 row[3].as<std::string>()};
  }
  if (uploads.empty()) return;
  for (const auto* e : statuses) {
    auto it = uploads.find({e->charger_id(), e->request_id()});
    if (it != uploads.end()) it->second = OnLogStatus(it->second, e->type());
  }
  pg::ArrayLiteral upload_ids, upload_requests, states, outcomes;
  for (const auto& [key, upload] : uploads) {
    upload_ids.Text(key.first);
    upload_requests.Int(key.second);
    states.Text(upload.state);
    outcomes.Text(upload.outcome);
  }
  // "Uploaded" with nothing stored is still the charger's word; the detail says what we saw.
  txn.exec_params0(
      "UPDATE log_uploads l SET state = u.state, outcome = u.outcome, updated_at = now(),"
      " detail = CASE WHEN u.outcome = 'uploaded' AND l.content_attempt IS NULL"
      "  THEN 'the charger reported Uploaded, but no bytes reached the CSMS' ELSE l.detail END"
      " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS u (id, req, state, outcome)"
      " WHERE l.charger_id = u.id AND l.request_id = u.req",
      upload_ids.str(), upload_requests.str(), states.str(), outcomes.str());
}

}  // namespace csms::control
