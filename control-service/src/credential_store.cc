#include "csms/control/credential_store.h"

#include "csms/common/pg_sql.h"

namespace csms::control {

namespace {
ChargerCredentials ReadCredentials(const pqxx::row& row) {
  ChargerCredentials c{row["charger_id"].as<std::string>(), row["security_profile"].as<int>(),
                       row["password_hash"].as<std::string>(), row["approved"].as<bool>()};
  c.previous_password_hash = row["previous_password_hash"].as<std::string>();
  return c;
}
// The previous password only while it is valid, by the database's clock.
constexpr const char* kCredentialColumns =
    "charger_id, security_profile, password_hash, approved,"
    " CASE WHEN previous_valid_until > now() THEN previous_password_hash ELSE '' END"
    " AS previous_password_hash";
}  // namespace

std::optional<ChargerCredentials> CredentialStore::Find(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<ChargerCredentials> {
    pqxx::read_transaction txn(conn);
    auto rows = txn.exec_params(std::string("SELECT ") + kCredentialColumns +
                                    " FROM charger_credentials WHERE charger_id = $1",
                                charger_id);
    if (rows.empty()) return std::nullopt;
    return ReadCredentials(rows[0]);
  });
}

ChargerCredentials CredentialStore::Create(const ChargerCredentials& c) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    auto rows =
        txn.exec_params(std::string("INSERT INTO charger_credentials (charger_id, security_profile,"
                                    " password_hash, approved) VALUES ($1, $2, $3, $4)"
                                    " ON CONFLICT (charger_id) DO NOTHING RETURNING ") +
                            kCredentialColumns,
                        c.charger_id, c.security_profile, c.password_hash, c.approved);
    if (rows.empty()) {
      throw StoreError(StoreError::Kind::kConflict,
                       "charger " + c.charger_id + " is already provisioned");
    }
    return ReadCredentials(rows[0]);
  });
}

std::optional<ChargerCredentials> CredentialStore::Update(const std::string& charger_id,
                                                          const CredentialChanges& changes) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<ChargerCredentials> {
    auto rows = txn.exec_params(
        std::string("UPDATE charger_credentials SET"
                    " security_profile = coalesce($2::integer, security_profile),"
                    " password_hash = coalesce($3::text, password_hash),"
                    // A password set by the operator replaces every earlier one.
                    " previous_password_hash = CASE WHEN $3::text IS NULL"
                    "   THEN previous_password_hash ELSE '' END,"
                    " approved = coalesce($4::boolean, approved), updated_at = now()"
                    " WHERE charger_id = $1 RETURNING ") +
            kCredentialColumns,
        charger_id, changes.security_profile, changes.password_hash, changes.approved);
    if (rows.empty()) return std::nullopt;
    return ReadCredentials(rows[0]);
  });
}

std::optional<ChargerCredentials> CredentialStore::RotatePassword(const std::string& charger_id,
                                                                  const std::string& new_hash,
                                                                  std::chrono::seconds grace) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<ChargerCredentials> {
    auto rows = txn.exec_params(
        std::string("UPDATE charger_credentials SET previous_password_hash = password_hash,"
                    " previous_valid_until = now() + make_interval(secs => $3),"
                    " password_hash = $2, updated_at = now()"
                    " WHERE charger_id = $1 AND security_profile IN (1, 2) RETURNING ") +
            kCredentialColumns,
        charger_id, new_hash, static_cast<double>(grace.count()));
    if (rows.empty()) return std::nullopt;
    return ReadCredentials(rows[0]);
  });
}

void CredentialStore::RevertPassword(const std::string& charger_id, const std::string& new_hash) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params(
        "UPDATE charger_credentials SET password_hash = previous_password_hash,"
        " previous_password_hash = '', previous_valid_until = NULL, updated_at = now()"
        " WHERE charger_id = $1 AND password_hash = $2 AND previous_password_hash <> ''",
        charger_id, new_hash);
    return 0;
  });
}

bool CredentialStore::Delete(const std::string& charger_id) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return !txn.exec_params("DELETE FROM charger_credentials WHERE charger_id = $1 RETURNING 1",
                            charger_id)
                .empty();
  });
}

std::map<std::string, bool> CredentialStore::Approvals(pqxx::transaction_base& txn,
                                                       const std::set<std::string>& charger_ids) {
  std::map<std::string, bool> approvals;
  if (charger_ids.empty()) return approvals;
  for (const auto& row : txn.exec_params("SELECT charger_id, approved FROM charger_credentials "
                                         "WHERE charger_id = ANY($1::text[])",
                                         pg::TextArray(charger_ids))) {
    approvals[row[0].as<std::string>()] = row[1].as<bool>();
  }
  return approvals;
}

}  // namespace csms::control
