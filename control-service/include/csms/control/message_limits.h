#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/ocpp/v201/get_variables.h"

namespace csms::control {

// How much one GetVariables / SetVariables CALL may carry for a charger (OCPP 2.0.1
// DeviceDataCtrlr.ItemsPerMessage and BytesPerMessage, per instance); unset while unknown.
struct MessageLimits {
  std::optional<int> get_items, set_items, get_bytes, set_bytes;
};

// The limits a GetVariables answer reveals (Accepted DeviceDataCtrlr values); nullopt if none.
std::optional<MessageLimits> LimitsIn(const ocpp::v201::GetVariablesResponse& response);

// Splits `count` items into consecutive chunks of at most `max_items` items whose payload,
// `base_bytes` plus the sizes `item_bytes(i)` (and a comma between items), stays within
// `max_bytes`. An item bigger than the byte limit alone goes in a chunk of its own (the charger
// will say what it thinks of it). Returns the chunk sizes; one chunk when no limit is known.
std::vector<size_t> ChunkSizes(size_t count, std::optional<int> max_items,
                               std::optional<int> max_bytes, size_t base_bytes,
                               const std::function<size_t(size_t)>& item_bytes);

// Table charger_message_limits.
class MessageLimitsStore {
 public:
  explicit MessageLimitsStore(pg::Pool& pool) : pool_(pool) {}
  MessageLimits Get(const std::string& charger_id);
  // Stores the limits that are set, keeping the others.
  void Learn(const std::string& charger_id, const MessageLimits& limits);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
