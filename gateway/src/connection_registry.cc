#include "csms/gateway/connection_registry.h"

namespace csms::gateway {

std::shared_ptr<ChargerConnection> ConnectionRegistry::Register(
    const std::shared_ptr<ChargerConnection>& connection) {
  std::lock_guard lock(mu_);
  auto& slot = by_charger_[connection->charger_id()];
  std::shared_ptr<ChargerConnection> previous = slot.lock();
  slot = connection;
  return previous;
}

bool ConnectionRegistry::Unregister(const std::string& charger_id,
                                    const std::string& connection_id) {
  std::lock_guard lock(mu_);
  auto it = by_charger_.find(charger_id);
  if (it == by_charger_.end()) return false;
  auto current = it->second.lock();
  if (current && current->connection_id() != connection_id) return false;
  by_charger_.erase(it);
  return true;
}

std::shared_ptr<ChargerConnection> ConnectionRegistry::Find(const std::string& charger_id) const {
  std::lock_guard lock(mu_);
  auto it = by_charger_.find(charger_id);
  return it == by_charger_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<ChargerConnection>> ConnectionRegistry::All() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ChargerConnection>> all;
  for (const auto& [id, weak] : by_charger_) {
    if (auto c = weak.lock()) all.push_back(std::move(c));
  }
  return all;
}

size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mu_);
  return by_charger_.size();
}

}  // namespace csms::gateway
