#pragma once

#include <chrono>
#include <string>

#include "csms/common/time_util.h"
#include "csms/control/registry_store.h"

namespace csms::control {

// Looks chargers up for the operator API and decides whether one may be sent a CALL: shared by
// the registry calls and the command path. Throws RpcError (NOT_FOUND, FAILED_PRECONDITION).
class ChargerAccess {
 public:
  explicit ChargerAccess(RegistryStore& store) : store_(store) {}

  // A charger counted as connected but silent for longer than this is shown Offline and sent
  // nothing: its gateway died without reporting the disconnect (crash, lost network), and no
  // other gateway has it yet. Zero: trust the connection flag alone.
  void set_offline_after(std::chrono::milliseconds silence) { offline_after_ = silence; }

  // NOT_FOUND when unknown; INVALID_ARGUMENT for an empty id.
  ChargerRecord Require(const std::string& charger_id) const;
  // The record's connection flag, unless the charger has been silent past offline_after.
  bool IsLive(const ChargerRecord& charger) const;
  // Connected (and heard from lately) and not rejected (B03.FR.03): a charger we may send a
  // CALL to; FAILED_PRECONDITION otherwise.
  void RequireReachable(const ChargerRecord& charger) const;

 private:
  RegistryStore& store_;
  std::chrono::milliseconds offline_after_{0};
  RealClock clock_;
};

}  // namespace csms::control
