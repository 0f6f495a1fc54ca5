#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <vector>

#include "csms/common/api_auth.h"
#include "csms/common/time_util.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/device_model_store.h"
#include "csms/control/message_limits.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/ocpp/v201/get_variables.h"

namespace csms::control {

// The device model's methods: RequestReport (GetBaseReport / GetReport with a requestId of the
// CSMS's own, the report row written before the CALL goes so that no part finds it missing) and
// ListVariables (the stored model, read role; or with `live` the charger's own answer to
// GetVariables, operate role, since that sends CALLs). On the gRPC callback API like every
// command.
class DeviceModelApi {
 public:
  // `auth` null: open mode.
  DeviceModelApi(const ChargerAccess& access, DeviceModelStore& store, CommandSender& sender,
                 auth::Authenticator* auth, std::chrono::milliseconds timeout)
      : access_(access), store_(store), sender_(sender), auth_(auth), timeout_(timeout) {}

  grpc::ServerUnaryReactor* RequestReport(grpc::CallbackServerContext* context,
                                          const v1::RequestReportRequest* request,
                                          v1::RequestReportResponse* response);

  // Errors carry the REST code in their details: unknown_charger, bad_request (a bad filter, a
  // cursor on a live read, a live read of more than kMaxLiveItems attributes), forbidden, and
  // for live reads those of every command (offline, timeout, charger_error, invalid_reply).
  grpc::ServerUnaryReactor* ListVariables(grpc::CallbackServerContext* context,
                                          const v1::ListVariablesRequest* request,
                                          v1::ListVariablesResponse* response);

 private:
  void ReadLive(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                const v1::ListVariablesRequest& request, const VariableFilter& filter,
                const ChargerRecord& charger, const std::string& issued_by,
                v1::ListVariablesResponse* response);

  const ChargerAccess& access_;
  DeviceModelStore& store_;
  CommandSender& sender_;
  auth::Authenticator* auth_;
  std::chrono::milliseconds timeout_;
};

// ---- Live reads, the parts without I/O ---------------------------------------------------------

// The most attributes one live read asks for.
inline constexpr size_t kMaxLiveItems = 500;

// What a live read asks the charger for. Exact component and variable (and no `search`): that
// variable, as named (instance, EVSE, connector, variable instance, attribute type as given;
// no type: Actual), stored or not. Otherwise each stored attribute (of the requested type, when
// one is) of the `stored` variables (those the filter matched, their attributes so filtered),
// and Actual for a stored variable without attributes when no type is requested.
std::vector<ocpp::v201::GetVariableData> LiveReadItems(
    const v1::ListVariablesRequest& request, const std::vector<v1::DeviceVariable>& stored);

// How much one GetVariables CALL may carry, from the stored model's DeviceDataCtrlr variables
// (ItemsPerMessage / BytesPerMessage, instance GetVariables, Actual, a positive integer); unset
// when not stored. `device_data_ctrlr`: the stored DeviceDataCtrlr variables.
MessageLimits GetVariablesLimits(const std::vector<v1::DeviceVariable>& device_data_ctrlr);

// The items as the GetVariables CALLs the limits allow, in order (one CALL when no limit is
// known; none without items). Bytes are counted as the CALL frame goes out.
std::vector<ocpp::v201::GetVariablesRequest> SplitGetVariables(
    std::vector<ocpp::v201::GetVariableData> items, std::optional<int> max_items,
    std::optional<int> max_bytes);

// The answer of a live read in the stored read's shape: one DeviceVariable per variable asked
// (in the order asked), its characteristics and attribute flags from `stored` when it is
// there, each attribute asked with the charger's attribute_status (matched by name and type,
// never by position), its value when Accepted and not secret (a password or key by name, or
// stored as secret or WriteOnly), source "GetVariables" and updated_at `at`. An item the
// charger did not answer has an empty attribute_status and no value.
std::vector<v1::DeviceVariable> LiveVariables(
    const std::vector<ocpp::v201::GetVariableData>& asked,
    const std::vector<v1::DeviceVariable>& stored,
    const std::vector<ocpp::v201::GetVariablesResponse>& answers, TimePoint at);

}  // namespace csms::control
