#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csms/common/time_util.h"

namespace csms::gateway {

// Registration state of a charger as this connection knows it (OCPP 2.0.1 B02/B03).
enum class Registration { kUnknown, kNotBooted, kAccepted, kPending, kRejected };
Registration RegistrationFromString(const std::string& status);

// What a handler knows about the charger it serves. Shared between the connection and the
// completions of its pending backend calls.
struct StationContext {
  std::string charger_id;
  std::string connection_id;
  std::atomic<Registration> registration{Registration::kUnknown};
  // When last-seen was last handed to the backend (µs since the epoch). Reporting at most once
  // a second per station keeps the backend's shared map off the per-message path.
  std::atomic<int64_t> seen_reported_us{0};
  // Security profile 3: the CN of the verified client certificate (empty otherwise).
  std::string certificate_cn;
  // Set by the router when the connection must end after its reply is written (B01.FR.12).
  std::atomic<bool> close_requested{false};

  // Messages the CSMS asked for with a TriggerMessage the charger accepted: they pass the
  // registration gate while it is Pending (B01.FR.10, B02.FR.02; DIGEST §2.7) until `until`.
  void AllowTriggered(std::string action, TimePoint until);
  bool IsTriggered(std::string_view action, TimePoint now) const;

  // The station (site) control says the charger belongs to, "" for none or until control's
  // StationConnected answer arrives (on a gRPC thread, while handlers read it). Transaction
  // events carry it so billing prices them by that station's tariff.
  std::string station_id() const;
  void set_station_id(std::string station_id);
  // The currency the charger shows running costs in (from the same answer), "" when it does
  // not show them: only then do Updated answers carry a running totalCost (I02).
  std::string cost_currency() const;
  void set_cost_currency(std::string currency);
  // The most power an EVSE can deliver (W, from the device model, as control read it at connect);
  // nullopt when unknown.
  std::optional<double> evse_max_power_w(int32_t evse_id) const;
  void set_evse_max_power_w(std::map<int32_t, double> limits);

 private:
  mutable std::mutex station_mu_;
  std::string station_id_;
  std::string cost_currency_;
  std::map<int32_t, double> evse_max_power_w_;
  mutable std::mutex triggered_mu_;
  std::vector<std::pair<std::string, TimePoint>> triggered_;
};

}  // namespace csms::gateway
