#include "csms/control/reservation_store.h"

#include <stdexcept>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

constexpr const char* kColumns =
    "reservation_id, charger_id, evse_id, id_token, token_type, group_id_token, group_type,"
    " extract(epoch from expires_at)::float8 AS expires, state, status, transaction_id,"
    " requested_by, detail, extract(epoch from created_at)::float8 AS created,"
    " extract(epoch from updated_at)::float8 AS updated,"
    " extract(epoch from ended_at)::float8 AS ended";

// SQL for the states IsOpenReservation names.
constexpr const char* kOpenStates = "('requested', 'active', 'failed')";

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
  *out = ToProto(pg::FromEpochSeconds(f.as<double>()));
}

v1::Reservation FromRow(const pqxx::row& row) {
  v1::Reservation r;
  r.set_reservation_id(row["reservation_id"].as<int32_t>());
  r.set_charger_id(row["charger_id"].as<std::string>());
  if (!row["evse_id"].is_null()) r.set_evse_id(row["evse_id"].as<int32_t>());
  r.set_id_token(row["id_token"].as<std::string>());
  r.set_token_type(row["token_type"].as<std::string>());
  if (!row["group_id_token"].is_null()) {
    r.mutable_group()->set_id_token(row["group_id_token"].as<std::string>());
    r.mutable_group()->set_type(row["group_type"].as<std::string>(""));
  }
  SetTime(row["expires"], r.mutable_expires_at());
  r.set_state(row["state"].as<std::string>());
  r.set_status(row["status"].as<std::string>());
  r.set_transaction_id(row["transaction_id"].as<std::string>(""));
  r.set_requested_by(row["requested_by"].as<std::string>());
  r.set_detail(row["detail"].as<std::string>());
  SetTime(row["created"], r.mutable_created_at());
  SetTime(row["updated"], r.mutable_updated_at());
  if (!row["ended"].is_null()) SetTime(row["ended"], r.mutable_ended_at());
  return r;
}

std::string Returning() { return std::string(" RETURNING ") + kColumns; }

}  // namespace

bool IsOpenReservation(std::string_view state) {
  return state == "requested" || state == "active" || state == "failed";
}

bool IsActiveReservation(std::string_view state) {
  return state == "requested" || state == "active";
}

std::string StateAfterReserveAnswer(std::string_view status) {
  return status == "Accepted" ? "active" : "rejected";
}

std::string StateAfterStatusUpdate(std::string_view state, std::string_view update) {
  if (!IsOpenReservation(state)) return std::string(state);
  if (update == "Expired") return "expired";
  if (update == "Removed") return "removed";
  return std::string(state);
}

v1::Reservation ReservationStore::Create(const NewReservation& r) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return FromRow(txn.exec_params1(
        "INSERT INTO reservations (charger_id, evse_id, id_token, token_type, group_id_token,"
        " group_type, expires_at, requested_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8)" +
            Returning(),
        r.charger_id, r.evse_id, r.id_token, r.token_type, r.group_id_token, r.group_type,
        pg::TimestampText(r.expires_at), r.requested_by));
  });
}

v1::Reservation ReservationStore::Answered(int32_t reservation_id, std::string_view status) {
  const std::string state = StateAfterReserveAnswer(status);
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE reservations SET state = $2::text, status = $3::text, updated_at = now(),"
        " ended_at = CASE WHEN $2 = 'active' THEN NULL ELSE now() END,"
        " detail = CASE WHEN $2 = 'active' THEN '' ELSE 'the charger answered ' || $3::text END"
        " WHERE reservation_id = $1 AND state = 'requested'",
        reservation_id, state, std::string(status));
    // Even when a status update or a use got there first, the charger's word is kept.
    return FromRow(txn.exec_params1(
        "UPDATE reservations SET status = $2 WHERE reservation_id = $1" + Returning(),
        reservation_id, std::string(status)));
  });
}

v1::Reservation ReservationStore::CallFailed(int32_t reservation_id, const std::string& detail) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE reservations SET state = 'failed', detail = $2, updated_at = now()"
        " WHERE reservation_id = $1 AND state = 'requested'",
        reservation_id, detail);
    return FromRow(txn.exec_params1(
        std::string("SELECT ") + kColumns + " FROM reservations WHERE reservation_id = $1",
        reservation_id));
  });
}

v1::Reservation ReservationStore::Cancelled(int32_t reservation_id, const std::string& by) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(std::string("UPDATE reservations SET state = 'cancelled', updated_at = now(),"
                                 " ended_at = now(), detail = 'cancelled by ' || $2::text"
                                 " WHERE reservation_id = $1 AND state IN ") +
                         kOpenStates,
                     reservation_id, by);
    return FromRow(txn.exec_params1(
        std::string("SELECT ") + kColumns + " FROM reservations WHERE reservation_id = $1",
        reservation_id));
  });
}

std::optional<v1::Reservation> ReservationStore::Get(const std::string& charger_id,
                                                     int32_t reservation_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<v1::Reservation> {
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params(std::string("SELECT ") + kColumns +
                                    " FROM reservations WHERE charger_id = $1"
                                    " AND reservation_id = $2",
                                charger_id, reservation_id);
    if (rows.empty()) return std::nullopt;
    return FromRow(rows[0]);
  });
}

ReservationStore::Page ReservationStore::List(const std::string& charger_id,
                                              std::optional<bool> active, int limit,
                                              const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('r', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    Page page;
    // One more than asked tells whether there is a next page.
    for (const auto& row :
         txn.exec_params(std::string("SELECT ") + kColumns +
                             " FROM reservations WHERE ($1 = '' OR charger_id = $1)"
                             " AND ($2::bigint IS NULL OR reservation_id < $2)"
                             " AND ($3::boolean IS NULL OR $3 = (state IN ('requested', 'active')"
                             "  AND expires_at > now()))"
                             " ORDER BY reservation_id DESC LIMIT $4",
                         charger_id, before, active, limit + 1)) {
      if (static_cast<int>(page.reservations.size()) == limit) {
        page.next_cursor = pg::IdCursor('r', page.reservations.back().reservation_id());
        break;
      }
      page.reservations.push_back(FromRow(row));
    }
    return page;
  });
}

std::optional<v1::Reservation> ReservationStore::ApplyStatusUpdate(const std::string& charger_id,
                                                                   int32_t reservation_id,
                                                                   std::string_view update) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<v1::Reservation> {
    auto rows = txn.exec_params(
        "SELECT state FROM reservations WHERE charger_id = $1 AND reservation_id = $2"
        " FOR UPDATE",
        charger_id, reservation_id);
    if (rows.empty()) return std::nullopt;
    const std::string state = rows[0][0].as<std::string>();
    const std::string next = StateAfterStatusUpdate(state, update);
    if (next == state) {
      return FromRow(txn.exec_params1(
          std::string("SELECT ") + kColumns + " FROM reservations WHERE reservation_id = $1",
          reservation_id));
    }
    return FromRow(
        txn.exec_params1("UPDATE reservations SET state = $2, updated_at = now(), ended_at = now(),"
                         " detail = 'the charger reported ' || $3::text WHERE reservation_id = $1" +
                             Returning(),
                         reservation_id, next, std::string(update)));
  });
}

int64_t ReservationStore::ExpireDue() {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return static_cast<int64_t>(
        txn.exec(std::string("UPDATE reservations SET state = 'expired', updated_at = now(),"
                             " ended_at = now(), detail = 'expires_at passed (released by the"
                             " CSMS)' WHERE expires_at <= now() AND state IN ") +
                 kOpenStates)
            .affected_rows());
  });
}

std::set<int32_t> ReservationStore::KnownEvses(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    std::set<int32_t> evses;
    for (const auto& row :
         txn.exec_params("SELECT evse_id FROM connectors WHERE charger_id = $1 AND evse_id > 0"
                         " UNION SELECT evse_id FROM device_variables WHERE charger_id = $1"
                         " AND evse_id IS NOT NULL AND evse_id > 0",
                         charger_id)) {
      evses.insert(row[0].as<int32_t>());
    }
    return evses;
  });
}

void ReservationStore::ApplyUses(pqxx::work& txn, const std::vector<ReservationUse>& uses) {
  if (uses.empty()) return;
  pg::ArrayLiteral chargers, ids, txs;
  for (const auto& u : uses) {
    chargers.Text(u.charger_id);
    ids.Int(u.reservation_id);
    txs.Text(u.transaction_id);
  }
  // A reservation the CSMS's sweep expired a moment before the charger used it is still used:
  // the charger's clock decided. The first use wins; the DISTINCT ON keeps one row per id.
  txn.exec_params0(
      "UPDATE reservations r SET state = 'used', transaction_id = u.tx, updated_at = now(),"
      " ended_at = now(), detail = 'used by transaction ' || u.tx"
      " FROM (SELECT DISTINCT ON (id, charger) charger, id, tx"
      "  FROM unnest($1::text[], $2::int[], $3::text[]) WITH ORDINALITY AS v (charger, id, tx, n)"
      "  ORDER BY id, charger, n) AS u"
      " WHERE r.charger_id = u.charger AND r.reservation_id = u.id"
      " AND r.state IN ('requested', 'active', 'failed', 'expired')",
      chargers.str(), ids.str(), txs.str());
}

}  // namespace csms::control
