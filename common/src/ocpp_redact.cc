#include "csms/common/ocpp_redact.h"

#include "csms/common/ocpp_actions.h"

namespace csms::ocpp {
namespace {

using nlohmann::json;

constexpr std::string_view kLogUploadPath = "/log-uploads/";

// Property names that hold a secret wherever they appear (2.0.1 VPNType.password and .key,
// APNType.apnPassword; 1.6 has none, its secrets are configuration values).
bool IsSecretProperty(std::string_view name, std::string_view parent) {
  return SameOcppName(name, "password") || SameOcppName(name, "apnPassword") ||
         (SameOcppName(parent, "vpn") && SameOcppName(name, "key"));
}

const std::string* StringAt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

void Walk(json& node, std::string_view parent) {
  if (node.is_array()) {
    for (auto& item : node) Walk(item, parent);
    return;
  }
  if (node.is_string()) {
    const auto& text = node.get_ref<const std::string&>();
    if (text.find("PRIVATE KEY") != std::string::npos) {
      node = kRedacted;
    } else if (auto at = text.find(kLogUploadPath); at != std::string::npos) {
      // GetLog's remoteLocation: the CSMS's own upload URL, whose token is the credential.
      node = text.substr(0, at + kLogUploadPath.size()) + std::string(kRedacted);
    }
    return;
  }
  if (!node.is_object()) return;
  // IdTokenType {idToken, type}: a KeyCode token is a secret code the driver types in.
  if (const auto* type = StringAt(node, "type"); type != nullptr && *type == "KeyCode") {
    if (auto it = node.find("idToken"); it != node.end() && it->is_string()) *it = kRedacted;
  }
  // 2.0.1 SetVariableData and GetVariableResult {variable: {name}, attributeValue}, NotifyEvent's
  // EventData {variable, actualValue}, NotifyReport's ReportData {variable, variableAttribute:
  // [{value}]}; 1.6 ChangeConfiguration {key, value} and GetConfiguration's configurationKey
  // entries.
  if (auto variable = node.find("variable"); variable != node.end() && variable->is_object()) {
    if (const auto* name = StringAt(*variable, "name");
        name != nullptr && IsSecretVariable(*name)) {
      for (const char* field : {"attributeValue", "actualValue"}) {
        if (auto it = node.find(field); it != node.end()) *it = kRedacted;
      }
      if (auto attributes = node.find("variableAttribute");
          attributes != node.end() && attributes->is_array()) {
        for (auto& attribute : *attributes) {
          if (!attribute.is_object()) continue;
          if (auto it = attribute.find("value"); it != attribute.end()) *it = kRedacted;
        }
      }
    }
  }
  if (const auto* key = StringAt(node, "key"); key != nullptr && IsSecretVariable(*key)) {
    if (auto it = node.find("value"); it != node.end()) *it = kRedacted;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (IsSecretProperty(it.key(), parent) && !it->is_object() && !it->is_array()) {
      *it = kRedacted;
    } else {
      Walk(*it, it.key());
    }
  }
}

}  // namespace

nlohmann::json RedactSecrets(std::string_view /*action*/, nlohmann::json payload) {
  // The rules are by shape, not by action: a secret is redacted wherever a vendor puts it.
  Walk(payload, "");
  return payload;
}

std::string RedactFrame(std::string_view frame) {
  json parsed = json::parse(frame, nullptr, /*allow_exceptions=*/false);
  // [2,id,action,payload] and [3,id,payload]; CALLERRORs carry only what the sender wrote.
  const bool call = parsed.is_array() && parsed.size() == 4 && parsed[0] == 2;
  const bool result = parsed.is_array() && parsed.size() == 3 && parsed[0] == 3;
  if (!call && !result) return std::string(frame);
  json& payload = parsed[call ? 3 : 2];
  json redacted =
      RedactSecrets(call && parsed[2].is_string() ? parsed[2].get<std::string>() : "", payload);
  if (redacted == payload) return std::string(frame);
  payload = std::move(redacted);
  return parsed.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsSecretVariable(std::string_view name) {
  return SameOcppName(name, "BasicAuthPassword") || SameOcppName(name, "AuthorizationKey");
}

bool IsSecurityComponent(std::string_view component) {
  return SameOcppName(component, "SecurityCtrlr");
}

}  // namespace csms::ocpp
