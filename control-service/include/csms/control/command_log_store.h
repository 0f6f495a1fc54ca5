#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"

namespace csms::control {

// One CALL sent to a charger and what came of it. Request and response are stored as given:
// the caller redacts secrets first (CommandSender does).
struct CommandLogEntry {
  int64_t id = 0;  // assigned when recorded
  std::string charger_id;
  std::string issued_by;  // API key id, or system:<what>
  std::string action;
  nlohmann::json request;
  std::string outcome;      // result, call_error, timeout, offline, invalid_reply, failed
  nlohmann::json response;  // null when there was none
  TimePoint sent_at;
  int32_t latency_ms = 0;
};

struct CommandLogPage {
  std::vector<CommandLogEntry> entries;  // newest first
  std::string next_cursor;               // "" on the last page
};

// The command log (table command_log), one aggregate of control's data.
class CommandLogStore {
 public:
  explicit CommandLogStore(pg::Pool& pool) : pool_(pool) {}

  // Returns the entry's id.
  int64_t Record(const CommandLogEntry& entry);
  // Newest first; `cursor` is a previous page's next_cursor ("" for the first page). Throws
  // std::invalid_argument for a cursor this store did not hand out.
  CommandLogPage List(const std::string& charger_id, int limit, const std::string& cursor);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
