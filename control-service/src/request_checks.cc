#include "csms/control/request_checks.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "csms/control/decisions.h"
#include "csms/control/password_hash.h"
#include "csms/control/rpc_status.h"

namespace csms::control {

void RequireId(const std::string& value, const char* field) {
  if (value.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + " is required");
  }
  if (value.size() > kMaxOcppIdLength) {
    throw RpcError(
        grpc::StatusCode::INVALID_ARGUMENT,
        std::string(field) + " is longer than " + std::to_string(kMaxOcppIdLength) + " characters");
  }
}

void RequireStationIdentity(const std::string& id) {
  constexpr size_t kMaxIdentity = 48;
  if (id.empty() || id.size() > kMaxIdentity || !std::all_of(id.begin(), id.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return std::isalnum(c) || std::string_view("*-_=:+|@.").find(ch) != std::string::npos;
      })) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT,
                   "charger_id must be 1 to 48 characters of a-z A-Z 0-9 * - _ = : + | @ .");
  }
}

std::string HashCheckedPassword(const std::string& password) {
  if (std::string problem = CheckPasswordRules(password); !problem.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, problem);
  }
  return HashPassword(password);
}

}  // namespace csms::control
