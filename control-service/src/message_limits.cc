#include "csms/control/message_limits.h"

#include <charconv>
#include <pqxx/pqxx>

#include "csms/common/ocpp_actions.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;

std::optional<int> PositiveInt(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value <= 0) return std::nullopt;
  return value;
}

}  // namespace

std::optional<MessageLimits> LimitsIn(const v201::GetVariablesResponse& response) {
  MessageLimits limits;
  bool found = false;
  for (const auto& r : response.get_variable_result) {
    if (r.attribute_status != v201::GetVariableStatusEnum::kAccepted ||
        !ocpp::SameOcppName(r.component.name, "DeviceDataCtrlr") || !r.variable.instance) {
      continue;
    }
    if (r.attribute_type && *r.attribute_type != v201::AttributeEnum::kActual) continue;
    const bool items = ocpp::SameOcppName(r.variable.name, "ItemsPerMessage");
    const bool bytes = ocpp::SameOcppName(r.variable.name, "BytesPerMessage");
    const bool get = ocpp::SameOcppName(*r.variable.instance, "GetVariables");
    const bool set = ocpp::SameOcppName(*r.variable.instance, "SetVariables");
    auto value = PositiveInt(r.attribute_value);
    if (!value || !(items || bytes) || !(get || set)) continue;
    auto& slot = items ? (get ? limits.get_items : limits.set_items)
                       : (get ? limits.get_bytes : limits.set_bytes);
    slot = value;
    found = true;
  }
  return found ? std::optional(limits) : std::nullopt;
}

std::vector<size_t> ChunkSizes(size_t count, std::optional<int> max_items,
                               std::optional<int> max_bytes, size_t base_bytes,
                               const std::function<size_t(size_t)>& item_bytes) {
  std::vector<size_t> chunks;
  size_t in_chunk = 0;
  size_t bytes = base_bytes;
  for (size_t i = 0; i < count; ++i) {
    const size_t item = item_bytes(i);
    if (in_chunk > 0) {
      const bool too_many = max_items && in_chunk >= static_cast<size_t>(*max_items);
      const bool too_big = max_bytes && bytes + 1 + item > static_cast<size_t>(*max_bytes);
      if (too_many || too_big) {
        chunks.push_back(in_chunk);
        in_chunk = 0;
        bytes = base_bytes;
      }
    }
    bytes += item + (in_chunk > 0 ? 1 : 0);
    ++in_chunk;
  }
  if (in_chunk > 0 || chunks.empty()) chunks.push_back(in_chunk);
  return chunks;
}

MessageLimits MessageLimitsStore::Get(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT get_variables_items, set_variables_items, get_variables_bytes, "
        "set_variables_bytes FROM charger_message_limits WHERE charger_id = $1",
        charger_id);
    MessageLimits limits;
    if (rows.empty()) return limits;
    auto read = [](const pqxx::field& f) {
      return f.is_null() ? std::optional<int>() : std::optional<int>(f.as<int>());
    };
    limits.get_items = read(rows[0][0]);
    limits.set_items = read(rows[0][1]);
    limits.get_bytes = read(rows[0][2]);
    limits.set_bytes = read(rows[0][3]);
    return limits;
  });
}

void MessageLimitsStore::Learn(const std::string& charger_id, const MessageLimits& l) {
  pool_.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO charger_message_limits AS m (charger_id, get_variables_items, "
        "set_variables_items, get_variables_bytes, set_variables_bytes) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charger_id) DO UPDATE SET "
        "get_variables_items = coalesce(EXCLUDED.get_variables_items, m.get_variables_items), "
        "set_variables_items = coalesce(EXCLUDED.set_variables_items, m.set_variables_items), "
        "get_variables_bytes = coalesce(EXCLUDED.get_variables_bytes, m.get_variables_bytes), "
        "set_variables_bytes = coalesce(EXCLUDED.set_variables_bytes, m.set_variables_bytes), "
        "updated_at = now()",
        charger_id, l.get_items, l.set_items, l.get_bytes, l.set_bytes);
    txn.commit();
  });
}

}  // namespace csms::control
