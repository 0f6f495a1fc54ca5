#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "csms/common/pg.h"
#include "csms/control/store_error.h"

namespace csms::control {

// A charger's provisioning: how it must authenticate (OCPP security profile) and whether its
// BootNotification is accepted. No row: the charger is not provisioned.
struct ChargerCredentials {
  std::string charger_id;
  int security_profile = 0;
  std::string password_hash;  // "" when none; see password_hash.h
  bool approved = false;
  // The password before the last rotation while its grace period lasts (OCPP A01), else "".
  std::string previous_password_hash;
};

// What Update changes; unset fields stay as they are.
struct CredentialChanges {
  std::optional<int> security_profile;
  std::optional<std::string> password_hash;
  std::optional<bool> approved;
};

// Table charger_credentials. Create throws StoreError kConflict when the charger is provisioned
// already; Update returns nullopt, Delete false, when it is not.
class CredentialStore {
 public:
  explicit CredentialStore(pg::Pool& pool) : pool_(pool) {}

  std::optional<ChargerCredentials> Find(const std::string& charger_id);
  ChargerCredentials Create(const ChargerCredentials& credentials);
  std::optional<ChargerCredentials> Update(const std::string& charger_id,
                                           const CredentialChanges& changes);
  bool Delete(const std::string& charger_id);
  // A01: `new_hash` becomes the password, the current one stays valid for `grace`. nullopt when
  // the charger is not provisioned with a password profile (1 or 2).
  std::optional<ChargerCredentials> RotatePassword(const std::string& charger_id,
                                                   const std::string& new_hash,
                                                   std::chrono::seconds grace);
  // Undoes RotatePassword when the charger refused the new password (if nothing changed since).
  void RevertPassword(const std::string& charger_id, const std::string& new_hash);

  // Inside another store's transaction (the registry's boot decisions): approved or not, for
  // each of `charger_ids` that is provisioned.
  static std::map<std::string, bool> Approvals(pqxx::transaction_base& txn,
                                               const std::set<std::string>& charger_ids);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
