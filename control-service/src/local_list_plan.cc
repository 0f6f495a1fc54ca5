#include "csms/control/local_list_plan.h"

#include <set>

namespace csms::control {
namespace {

using nlohmann::json;

struct Change {
  std::string key;
  json entry;  // AuthorizationData; without idTokenInfo for a removal
  bool removal = false;
};

// The serialized size of a SendLocalList with these entries: the two fixed fields, and the list
// member when there are entries (nlohmann::json writes without whitespace).
size_t PayloadSize(int32_t version, bool full, size_t entries, size_t entry_bytes) {
  const size_t base =
      json{{"versionNumber", version}, {"updateType", full ? "Full" : "Differential"}}
          .dump()
          .size();
  if (entries == 0) return base;
  static const size_t kListMember = std::string(R"("localAuthorizationList":[],)").size();
  return base + kListMember + entry_bytes + (entries - 1);
}

// Packs `changes` greedily, in order, into messages within both limits.
ListPlan Pack(const std::vector<Change>& changes, int32_t next_version, bool first_full,
              const ListLimits& limits) {
  ListPlan plan;
  const size_t max_items = static_cast<size_t>(std::max(1, limits.items_per_message));
  const size_t max_bytes = static_cast<size_t>(std::max(1, limits.bytes_per_message));
  ListMessage message;
  message.version = next_version;
  message.full = first_full;
  json list = json::array();
  size_t list_bytes = 0;
  auto finish = [&] {
    message.payload = {{"versionNumber", message.version},
                       {"updateType", message.full ? "Full" : "Differential"}};
    if (!list.empty()) message.payload["localAuthorizationList"] = std::move(list);
    const int32_t version = message.version;
    plan.messages.push_back(std::move(message));
    message = ListMessage();
    message.version = version + 1;
    list = json::array();
    list_bytes = 0;
  };
  for (const Change& change : changes) {
    const size_t bytes = change.entry.dump().size();
    // Measured as the longest message it could go in (a Differential, a version further on).
    if (PayloadSize(message.version + 1, false, 1, bytes) > max_bytes) {
      plan.too_big.push_back(change.key);
      continue;
    }
    if (!list.empty() &&
        (list.size() + 1 > max_items || PayloadSize(message.version, message.full, list.size() + 1,
                                                    list_bytes + bytes) > max_bytes)) {
      finish();
    }
    list.push_back(change.entry);
    list_bytes += bytes;
    message.changes.emplace_back(change.key, change.removal
                                                 ? std::nullopt
                                                 : std::optional<std::string>(change.entry.dump()));
  }
  if (!list.empty() || (first_full && plan.messages.empty())) finish();
  return plan;
}

}  // namespace

std::string ListKey(const std::string& type, const std::string& id_key) {
  return type + "\n" + id_key;
}

ListPlan PlanFullList(const std::vector<ListEntry>& desired, int32_t next_version,
                      const ListLimits& limits) {
  std::vector<Change> changes;
  changes.reserve(desired.size());
  for (const ListEntry& e : desired) changes.push_back({ListKey(e.type, e.id_key), e.data, false});
  return Pack(changes, next_version, /*first_full=*/true, limits);
}

ListPlan PlanDifferentialList(const std::vector<ListEntry>& desired,
                              const std::map<std::string, std::string>& current,
                              int32_t next_version, const ListLimits& limits) {
  std::vector<Change> removals, upserts;
  std::set<std::string> wanted;
  for (const ListEntry& e : desired) {
    std::string key = ListKey(e.type, e.id_key);
    wanted.insert(key);
    auto held = current.find(key);
    if (held == current.end() || held->second != e.data.dump()) {
      upserts.push_back({std::move(key), e.data, false});
    }
  }
  for (const auto& [key, entry] : current) {
    if (wanted.count(key)) continue;
    json held = json::parse(entry, nullptr, false);
    json removal = {{"idToken", held.is_object() && held.contains("idToken") ? held["idToken"]
                                                                             : json::object()}};
    removals.push_back({key, std::move(removal), true});
  }
  removals.insert(removals.end(), upserts.begin(), upserts.end());
  if (removals.empty()) return {};
  return Pack(removals, next_version, /*first_full=*/false, limits);
}

}  // namespace csms::control
