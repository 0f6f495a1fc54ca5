#include "csms/control/rpc_status.h"

#include <pqxx/pqxx>

#include "csms/common/log.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

// SQLSTATE class 08 (connection exception) and 57P0x (server shutting down or starting up) mean
// the database is not there, not that the request was wrong.
bool IsUnavailableState(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0;
}

grpc::Status DatabaseUnavailable(const char* rpc, const std::exception& e) {
  std::string what = log::Sanitize(e.what(), 200);
  CSMS_LOG(kWarn, kComponent) << rpc << ": database unavailable: " << what;
  return {grpc::StatusCode::UNAVAILABLE, "control database unavailable: " + what};
}

}  // namespace

grpc::Status RunRpc(const char* rpc, const std::function<void()>& fn) {
  try {
    fn();
    return grpc::Status::OK;
  } catch (const RpcError& e) {
    return e.status();
  } catch (const pqxx::broken_connection& e) {
    return DatabaseUnavailable(rpc, e);
  } catch (const pqxx::in_doubt_error& e) {
    return DatabaseUnavailable(rpc, e);
  } catch (const pqxx::sql_error& e) {
    if (IsUnavailableState(e.sqlstate())) return DatabaseUnavailable(rpc, e);
    CSMS_LOG(kError, kComponent) << rpc << ": SQL error " << e.sqlstate() << ": "
                                 << log::Sanitize(e.what(), 300);
    return {grpc::StatusCode::INTERNAL, "control database error"};
  } catch (const std::exception& e) {
    CSMS_LOG(kError, kComponent) << rpc << ": " << log::Sanitize(e.what(), 300);
    return {grpc::StatusCode::INTERNAL, "internal error"};
  }
}

}  // namespace csms::control
