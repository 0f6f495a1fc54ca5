#include "csms/gateway/rest_json.h"

#include "csms/common/time_util.h"

namespace csms::gateway::rest {

using nlohmann::json;

HttpResponse Json(int status, const json& body) {
  return HttpResponse{status, body.dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/json"};
}

json Time(bool set, const google::protobuf::Timestamp& t) {
  return set ? json(FormatRfc3339(FromProto(t), /*millis=*/true)) : json(nullptr);
}

json TextOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace csms::gateway::rest
