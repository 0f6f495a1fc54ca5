#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"
#include "csms/ocpp/v201/notify_report.h"

namespace csms::control {

// One variable's naming, as OCPP identifies it (component, its instance and EVSE / connector,
// variable, its instance).
struct VariableName {
  std::string component, component_instance;
  std::optional<int> evse_id, connector_id;
  std::string variable, variable_instance;
};

// The key a variable is stored under: names case-folded, as OCPP compares them.
std::string VariableKey(const VariableName& name);

// What an answer says of one attribute (SetVariables / GetVariables result).
struct AttributeUpdate {
  VariableName name;
  std::string type = "Actual";
  std::optional<std::string> value;  // nullopt: not stored (secret, or none given)
};

struct VariableFilter {
  std::string charger_id;
  std::string component, component_instance;
  std::optional<int> evse_id, connector_id;
  std::string variable, variable_instance;
  std::string attribute_type;  // empty: all
  std::string search;          // part of the component or variable name, any case
};

struct VariablePage {
  std::vector<v1::DeviceVariable> variables;  // in key order
  std::string next_cursor;                    // "" on the last page
};

// What ApplyPart did.
struct PartOutcome {
  bool stored = false;    // false: a part already received (the charger sent it again)
  bool complete = false;  // this part completed its report
  int swept = 0;          // variables a complete FullInventory no longer lists, removed
};

// Tables device_model_reports, device_model_report_parts, device_variables,
// device_variable_attributes (migration 0008).
class DeviceModelStore {
 public:
  explicit DeviceModelStore(pg::Pool& pool) : pool_(pool) {}

  // A fresh requestId from the shared sequence.
  int32_t NewRequestId();
  // Records a report asked for, before the request goes out (its parts may come before the
  // answer is processed).
  void CreateReport(const std::string& charger_id, int32_t request_id, const std::string& scope,
                    const std::string& requested_by);
  // The charger's answer to GetBaseReport / GetReport (or Failed). A report already receiving
  // parts keeps its status.
  void SetReportStatus(const std::string& charger_id, int32_t request_id,
                       const std::string& status);

  // Applies one NotifyReport part, once: its items are merged into the model as it arrives, in
  // any order; the report is Complete when every part up to the one with tbc false is in. A part
  // of a report nobody asked for is stored as Unsolicited.
  PartOutcome ApplyPart(const std::string& charger_id, const ocpp::v201::NotifyReportRequest& part,
                        TimePoint received_at);

  // Values the charger confirmed (Accepted SetVariables / GetVariables results): `source` names
  // which. Creates variables not reported yet.
  void ApplyAttributes(const std::string& charger_id, const std::vector<AttributeUpdate>& updates,
                       const std::string& source, TimePoint at);

  // Throws std::invalid_argument for a cursor this store did not hand out.
  VariablePage List(const VariableFilter& filter, int limit, const std::string& cursor);
  std::optional<v1::DeviceModelReport> LastReport(const std::string& charger_id);

 private:
  pg::Pool& pool_;
};

// What an Accepted SetVariables / GetVariables answer confirms, matched to the request by
// component, variable and attribute type (never by position: DIGEST §5.6); empty for any other
// action. `request` may be redacted: secret values are not stored anyway.
std::vector<AttributeUpdate> ConfirmedAttributes(const std::string& action,
                                                 const nlohmann::json& request,
                                                 const nlohmann::json& result);

// Whether a variable's values are never stored: a password or key by name, or WriteOnly.
bool IsSecretVariable(const std::string& variable, const std::string& mutability);

}  // namespace csms::control
