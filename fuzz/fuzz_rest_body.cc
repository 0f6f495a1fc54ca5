// The operator REST API's request parsing on arbitrary bytes: the input is used both as a body
// (start, stop, power) and as a request target (path?query). It checks the limits the gRPC
// requests rely on and the shape of every refusal.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "csms/gateway/rest_request.h"
#include "fuzz_check.h"

namespace {

using namespace csms::gateway;

void CheckError(const RestError& error) {
  FUZZ_CHECK(error.status == 400);
  FUZZ_CHECK(error.code == "bad_request");
  FUZZ_CHECK(!error.message.empty());
}

template <typename Body, typename Check>
void Parse(const std::variant<Body, RestError>& parsed, Check check) {
  if (const auto* error = std::get_if<RestError>(&parsed)) {
    CheckError(*error);
  } else {
    check(std::get<Body>(parsed));
  }
}

void Bodies(const std::string& body) {
  Parse(ParseStartBody(body), [](const StartBody& start) {
    FUZZ_CHECK(!start.id_token.empty() && start.id_token.size() <= 36);
    FUZZ_CHECK(start.evse_id >= 1 && start.evse_id <= 1000000);
    FUZZ_CHECK(start.connector_id >= 1 && start.connector_id <= 1000000);
  });
  Parse(ParseStopBody(body), [](const StopBody& stop) {
    FUZZ_CHECK(!stop.transaction_id.empty() && stop.transaction_id.size() <= 36);
  });
  Parse(ParsePowerBody(body), [](const PowerBody& power) {
    FUZZ_CHECK(std::isfinite(power.max_power_kw) && power.max_power_kw > 0);
  });
}

// As RestApi::Handle reads a target.
void Target(const std::string& target) {
  std::string path = target;
  std::string query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  size_t total = 0;
  for (const std::string& part : SplitPath(path)) {
    FUZZ_CHECK(!part.empty());
    FUZZ_CHECK(part.find('/') == std::string::npos);
    total += part.size();
    std::string decoded = PercentDecode(part);
    FUZZ_CHECK(decoded.size() <= part.size());
    // "+" stays itself in a path; only a "%" can change anything.
    if (part.find('%') == std::string::npos) FUZZ_CHECK(decoded == part);
  }
  FUZZ_CHECK(total <= path.size());
  std::string plus = PercentDecode(query, true);
  FUZZ_CHECK(plus.size() <= query.size());
  for (const auto& [name, value] : ParseQuery(query)) {
    FUZZ_CHECK(name.size() + value.size() <= query.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  Bodies(input);
  Target(input);
  return 0;
}
