#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <nlohmann/json.hpp>
#include <string>

#include "csms/gateway/rest_api.h"

// The pieces every REST route file answers with, written once.
namespace csms::gateway::rest {

// A JSON answer; text that is not UTF-8 is replaced rather than refused.
HttpResponse Json(int status, const nlohmann::json& body);
// RFC 3339 with milliseconds, or null when unset.
nlohmann::json Time(bool set, const google::protobuf::Timestamp& t);
// null for "".
nlohmann::json TextOrNull(const std::string& s);

}  // namespace csms::gateway::rest
