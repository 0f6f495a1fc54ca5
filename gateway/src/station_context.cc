#include "csms/gateway/station_context.h"

#include <algorithm>

namespace csms::gateway {

Registration RegistrationFromString(const std::string& status) {
  if (status == "Accepted") return Registration::kAccepted;
  if (status == "Pending") return Registration::kPending;
  if (status == "Rejected") return Registration::kRejected;
  return Registration::kNotBooted;
}

void StationContext::AllowTriggered(std::string action, TimePoint until) {
  std::lock_guard lock(triggered_mu_);
  for (auto& [name, deadline] : triggered_) {
    if (name == action) {
      deadline = std::max(deadline, until);
      return;
    }
  }
  triggered_.emplace_back(std::move(action), until);
}

bool StationContext::IsTriggered(std::string_view action, TimePoint now) const {
  std::lock_guard lock(triggered_mu_);
  for (const auto& [name, deadline] : triggered_) {
    if (name == action) return now <= deadline;
  }
  return false;
}

std::string StationContext::station_id() const {
  std::lock_guard lock(station_mu_);
  return station_id_;
}

void StationContext::set_station_id(std::string station_id) {
  std::lock_guard lock(station_mu_);
  station_id_ = std::move(station_id);
}

std::string StationContext::cost_currency() const {
  std::lock_guard lock(station_mu_);
  return cost_currency_;
}

void StationContext::set_cost_currency(std::string currency) {
  std::lock_guard lock(station_mu_);
  cost_currency_ = std::move(currency);
}

std::optional<double> StationContext::evse_max_power_w(int32_t evse_id) const {
  std::lock_guard lock(station_mu_);
  const auto found = evse_max_power_w_.find(evse_id);
  if (found == evse_max_power_w_.end()) return std::nullopt;
  return found->second;
}

void StationContext::set_evse_max_power_w(std::map<int32_t, double> limits) {
  std::lock_guard lock(station_mu_);
  evse_max_power_w_ = std::move(limits);
}

}  // namespace csms::gateway
