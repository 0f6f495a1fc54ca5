#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

// How a charger's local authorization list is brought to what it should hold (OCPP D01), as
// pure functions: which SendLocalList messages, in which order, with which versions. Each
// message fits the charger's ItemsPerMessage and BytesPerMessage (D01.FR.11); a list too long
// for one message goes as a Full followed by Differentials, each with a higher version (a
// Differential must carry a version above the charger's, D01.FR.19).
namespace csms::control {

struct ListEntry {
  std::string type, id_key;  // the token's key (type + lower-cased idToken)
  nlohmann::json data;       // OCPP AuthorizationData: {"idToken":{...},"idTokenInfo":{...}}
};

struct ListLimits {
  int items_per_message = 50;
  int bytes_per_message = 8192;  // the whole serialized SendLocalList payload
};

struct ListMessage {
  nlohmann::json payload;  // the SendLocalListRequest
  int32_t version = 0;
  bool full = false;
  // What the charger's list holds once it accepted this message: key -> entry, or nullopt for
  // a removal. (A Full message also empties the list first.)
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
};

struct ListPlan {
  std::vector<ListMessage> messages;
  // Entries that cannot fit a message even alone (BytesPerMessage too small): left out.
  std::vector<std::string> too_big;
};

// "type\nid_key": how entries are keyed in the CSMS's copy of a list.
std::string ListKey(const std::string& type, const std::string& id_key);

// Replaces the whole list with `desired` (in order): a Full with version `next_version`, then
// Differentials. An empty `desired` is one Full without entries (it clears the list).
ListPlan PlanFullList(const std::vector<ListEntry>& desired, int32_t next_version,
                      const ListLimits& limits);

// From `current` (key -> entry as serialized JSON, what the charger holds) to `desired`:
// removals first (so the list never exceeds its capacity on the way), then additions and
// changes, as Differentials from `next_version` on. No messages when nothing differs.
ListPlan PlanDifferentialList(const std::vector<ListEntry>& desired,
                              const std::map<std::string, std::string>& current,
                              int32_t next_version, const ListLimits& limits);

}  // namespace csms::control
