// gateway/openapi.json (served as GET /openapi.json) against the routes the gateway really
// serves, so that a route added without documenting it, or documented without existing, fails
// CI (DESIGN.md "Operator API conventions"):
//
//  - the document is a well-formed OpenAPI 3 document: version, info, paths, operations with
//    responses, declared path parameters, known security schemes, and every $ref resolves;
//  - through a real HttpServer (API keys on, backends unreachable): every documented operation
//    is served (neither 404 "no such endpoint" nor 405), answers 401 without a token exactly
//    when the document does not mark it open (security: []), refuses a read token (403)
//    exactly when its x-required-role is operate or admin, and an operate token exactly when it
//    is admin;
//  - kServedRoutes, one request per route of rest_api.cc, rest_commands.cc, rest_charger_data.cc
//    and http_server.cc: each is served, and the document describes it;
//  - a sweep of RestApi::Handle, in every method, over paths made of the string literals of the
//    routing code: whatever it serves must be documented. So a new route fails here even when
//    kServedRoutes was not updated.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/api_auth.h"
#include "csms/common/log.h"
#include "csms/gateway/http_server.h"
#include "csms/gateway/live_feed.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Every route the code serves: one request each (ids are placeholders). Keep it in step with
// RestApi::Handle, RestCommands::Handle, RestChargerData::Handle and HttpSession (GET /events).
struct Route {
  const char* method;
  const char* target;
};
constexpr Route kServedRoutes[] = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/openapi.json"},
    {"GET", "/"},
    {"GET", "/index.html"},
    {"GET", "/assets/app.js"},
    {"GET", "/dashboard/config.json"},
    {"GET", "/events"},
    {"GET", "/stations"},
    {"POST", "/stations"},
    {"GET", "/stations/S1"},
    {"PUT", "/stations/S1"},
    {"DELETE", "/stations/S1"},
    {"GET", "/chargers"},
    {"POST", "/chargers"},
    {"GET", "/chargers/CS001"},
    {"DELETE", "/chargers/CS001"},
    {"GET", "/chargers/CS001/security"},
    {"PUT", "/chargers/CS001/security"},
    {"POST", "/chargers/CS001/password"},
    {"PUT", "/chargers/CS001/station"},
    {"POST", "/chargers/CS001/start"},
    {"POST", "/chargers/CS001/stop"},
    {"PATCH", "/chargers/CS001/power"},
    {"GET", "/chargers/CS001/sessions"},
    {"GET", "/sessions?account_id=acct-1&flagged=true&limit=5"},
    {"GET", "/sessions/tx-1?charger_id=CS001"},
    {"GET", "/stats/daily?date=2026-01-01"},
    {"POST", "/chargers/CS001/ocpp/Reset"},
    {"POST", "/chargers/CS001/reset"},
    {"POST", "/chargers/CS001/availability"},
    {"POST", "/chargers/CS001/unlock"},
    {"POST", "/chargers/CS001/trigger"},
    {"POST", "/chargers/CS001/clear-cache"},
    {"POST", "/chargers/CS001/get-variables"},
    {"POST", "/chargers/CS001/set-variables"},
    {"POST", "/chargers/CS001/transaction-status"},
    {"POST", "/chargers/CS001/data-transfer"},
    {"GET", "/chargers/CS001/commands?limit=10"},
    {"GET", "/chargers/CS001/events?kind=NotifyEvent&since=2026-01-01T00:00:00Z"},
    {"GET", "/webhooks"},
    {"POST", "/webhooks"},
    {"GET", "/webhooks/1"},
    {"PATCH", "/webhooks/1"},
    {"DELETE", "/webhooks/1"},
    {"POST", "/webhooks/1/test"},
    {"GET", "/webhooks/1/deliveries?state=pending&limit=10"},
    {"GET", "/alerts?charger_id=CS001&kind=connector_faulted"},
    {"POST", "/chargers/CS001/reports"},
    {"GET", "/chargers/CS001/variables?component=OCPPCommCtrlr&evse_id=1"},
    {"GET",
     "/chargers/CS001/variables?component=OCPPCommCtrlr&variable=HeartbeatInterval&live=true"},
    {"POST", "/chargers/CS001/firmware"},
    {"GET", "/chargers/CS001/firmware?limit=5"},
    {"POST", "/chargers/CS001/log-uploads"},
    {"GET", "/chargers/CS001/log-uploads?limit=5"},
    {"GET", "/chargers/CS001/log-uploads/1"},
    {"GET", "/chargers/CS001/log-uploads/1/content"},
    {"PUT", "/log-uploads/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"POST", "/log-uploads/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"PUT", "/tokens/ISO14443/04A2B3C4"},
    {"GET", "/tokens/ISO14443/04A2B3C4"},
    {"DELETE", "/tokens/ISO14443/04A2B3C4"},
    {"GET", "/tokens?account_id=acct-1&status=Accepted&limit=10"},
    {"POST", "/tokens:import"},
    {"GET", "/token-audit?type=ISO14443&id_token=04A2B3C4"},
    {"POST", "/chargers/CS001/reservations"},
    {"DELETE", "/chargers/CS001/reservations/7"},
    {"GET", "/reservations?charger_id=CS001&active=true&limit=10"},
    {"GET", "/tariffs"},
    {"GET", "/tariffs/weekend?version=2"},
    {"PUT", "/tariffs/weekend"},
    {"GET", "/tariffs/weekend/versions"},
    {"GET", "/stations/S1/tariff"},
    {"PUT", "/stations/S1/tariff"},
    {"DELETE", "/stations/S1/tariff"},
};

// Paths that answer every method alike; the document describes their GET only.
const std::set<std::string> kAnyMethodPaths = {"/healthz"};

constexpr const char* kOperationKeys[] = {"get",     "put",  "post",  "delete",
                                          "options", "head", "patch", "trace"};
constexpr const char* kSweepMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const json& Document() {
  static const json document = json::parse(ReadFile(CSMS_OPENAPI_FILE), nullptr, false);
  return document;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

bool IsTemplateSegment(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "/chargers/{charger_id}/start" matches "/chargers/CS001/start".
bool TemplateMatches(const std::string& path_template, const std::string& path) {
  auto want = Segments(path_template), have = Segments(path);
  if (want.size() != have.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!IsTemplateSegment(want[i]) && want[i] != have[i]) return false;
  }
  return true;
}

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

// The documented operation for a request; nullptr when the document has none.
const json* FindOperation(const json& document, const std::string& method,
                          const std::string& target) {
  for (const auto& [path_template, item] : document["paths"].items()) {
    if (!TemplateMatches(path_template, PathOf(target))) continue;
    if (auto it = item.find(Lower(method)); it != item.end()) return &*it;
  }
  return nullptr;
}

bool PathDocumented(const json& document, const std::string& path) {
  for (const auto& [path_template, item] : document["paths"].items()) {
    if (TemplateMatches(path_template, path)) return true;
  }
  return false;
}

// "#/components/schemas/Station" -> the value; nullptr when it does not resolve.
const json* Resolve(const json& document, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  try {
    json::json_pointer pointer(ref.substr(1));
    if (!document.contains(pointer)) return nullptr;
    return &document.at(pointer);
  } catch (const json::exception&) {
    return nullptr;
  }
}

// An object that may be a {"$ref": ...}, followed.
const json& Deref(const json& document, const json& value) {
  if (value.is_object() && value.contains("$ref") && value["$ref"].is_string()) {
    if (const json* target = Resolve(document, value["$ref"].get<std::string>())) return *target;
  }
  return value;
}

void CollectRefs(const json& value, const std::string& where,
                 std::vector<std::pair<std::string, std::string>>* refs) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (key == "$ref" && child.is_string()) refs->emplace_back(where, child.get<std::string>());
      CollectRefs(child, where + "/" + key, refs);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      CollectRefs(value[i], where + "/" + std::to_string(i), refs);
    }
  }
}

// What a concrete request to a documented operation looks like: path parameters from their
// examples (the first enum value, or a placeholder id, when there is none).
std::string ConcreteTarget(const json& document, const std::string& path_template,
                           const json& path_item, const json& operation) {
  std::map<std::string, std::string> values;
  for (const json* parameters : {&path_item, &operation}) {
    if (!parameters->contains("parameters")) continue;
    for (const auto& p : (*parameters)["parameters"]) {
      const json& parameter = Deref(document, p);
      if (parameter.value("in", "") != "path") continue;
      std::string value = "CS001";
      if (parameter.contains("example")) {
        value = parameter["example"].get<std::string>();
      } else if (parameter.contains("schema") && parameter["schema"].contains("enum")) {
        value = parameter["schema"]["enum"][0].get<std::string>();
      }
      values[parameter.value("name", "")] = value;
    }
  }
  std::string target;
  for (const auto& segment : Segments(path_template)) {
    target += "/";
    target += IsTemplateSegment(segment) ? values[segment.substr(1, segment.size() - 2)] : segment;
  }
  return target.empty() ? "/" : target;
}

// Whether an answer says the route exists: anything but 405 and the router's own 404.
enum class Served { kYes, kNoSuchEndpoint, kWrongMethod };
Served Classify(int status, const std::string& body) {
  if (status == 405) return Served::kWrongMethod;
  if (status == 404) {
    json error = json::parse(body, nullptr, false);
    if (error.is_object() && error.value("error", "") == "not_found" &&
        error.value("message", "").rfind("no such endpoint", 0) == 0) {
      return Served::kNoSuchEndpoint;
    }
  }
  return Served::kYes;
}

// ---- the document alone ------------------------------------------------------------------------

TEST(OpenApiDocument, IsAWellFormedOpenApi3Document) {
  const json& document = Document();
  ASSERT_TRUE(document.is_object()) << CSMS_OPENAPI_FILE << " is not a JSON object";
  ASSERT_TRUE(document.contains("openapi") && document["openapi"].is_string());
  EXPECT_TRUE(
      std::regex_match(document["openapi"].get<std::string>(), std::regex(R"(3\.[01]\.\d+)")))
      << document["openapi"];
  ASSERT_TRUE(document.contains("info") && document["info"].is_object());
  for (const char* field : {"title", "version"}) {
    EXPECT_TRUE(document["info"].contains(field) && document["info"][field].is_string() &&
                !document["info"][field].get<std::string>().empty())
        << "info." << field;
  }
  ASSERT_TRUE(document.contains("paths") && document["paths"].is_object());
  ASSERT_FALSE(document["paths"].empty());
  const json schemes =
      document.value("components", json::object()).value("securitySchemes", json::object());

  auto check_security = [&](const json& requirements, const std::string& where) {
    ASSERT_TRUE(requirements.is_array()) << where;
    for (const auto& requirement : requirements) {
      for (const auto& [name, scopes] : requirement.items()) {
        EXPECT_TRUE(schemes.contains(name)) << where << ": unknown security scheme " << name;
      }
    }
  };
  if (document.contains("security")) check_security(document["security"], "security");

  const std::regex status_key(R"([1-5]([0-9]{2}|XX)|default)");
  std::set<std::string> operation_ids;
  int operations = 0;
  for (const auto& [path, item] : document["paths"].items()) {
    EXPECT_EQ(path.rfind('/', 0), 0u) << path << " must start with /";
    ASSERT_TRUE(item.is_object()) << path;
    std::set<std::string> in_template;
    for (const auto& segment : Segments(path)) {
      if (IsTemplateSegment(segment)) in_template.insert(segment.substr(1, segment.size() - 2));
    }
    auto path_parameters = [&](const json& holder, std::set<std::string>* names) {
      if (!holder.contains("parameters")) return;
      for (const auto& p : holder["parameters"]) {
        const json& parameter = Deref(document, p);
        EXPECT_TRUE(parameter.contains("name") && parameter.contains("in")) << path;
        if (parameter.value("in", "") != "path") continue;
        names->insert(parameter.value("name", ""));
        EXPECT_EQ(parameter.value("required", false), true)
            << path << ": path parameter " << parameter.value("name", "") << " must be required";
      }
    };
    std::set<std::string> item_parameters;
    path_parameters(item, &item_parameters);
    for (const auto& [key, operation] : item.items()) {
      const bool is_operation = std::find(std::begin(kOperationKeys), std::end(kOperationKeys),
                                          key) != std::end(kOperationKeys);
      if (!is_operation) {
        EXPECT_TRUE(key == "parameters" || key == "summary" || key == "description" ||
                    key == "servers" || key == "$ref" || key.rfind("x-", 0) == 0)
            << path << ": unexpected key " << key;
        continue;
      }
      const std::string where = Upper(key) + " " + path;
      ++operations;
      if (!operation.is_object()) {
        ADD_FAILURE() << where << " is not an object";
        continue;
      }
      if (operation.contains("operationId")) {
        EXPECT_TRUE(operation_ids.insert(operation["operationId"].get<std::string>()).second)
            << where << ": duplicate operationId " << operation["operationId"];
      }
      std::set<std::string> declared = item_parameters;
      path_parameters(operation, &declared);
      EXPECT_EQ(declared, in_template) << where << ": path parameters declared vs. in the path";
      const json responses = operation.value("responses", json());
      EXPECT_TRUE(responses.is_object() && !responses.empty()) << where << " has no responses";
      for (const auto& [status, response] : responses.items()) {
        EXPECT_TRUE(std::regex_match(status, status_key)) << where << ": status " << status;
        const json& resolved = Deref(document, response);
        EXPECT_TRUE(resolved.contains("description") && resolved["description"].is_string())
            << where << " " << status << ": a response needs a description";
      }
      if (operation.contains("requestBody")) {
        const json& body = Deref(document, operation["requestBody"]);
        EXPECT_TRUE(body.contains("content") && !body["content"].empty())
            << where << ": a request body needs content";
      }
      if (operation.contains("security")) check_security(operation["security"], where);
      if (!operation.contains("security") || !operation["security"].empty()) {
        const std::string role = operation.value("x-required-role", "");
        EXPECT_TRUE(role == "read" || role == "operate" || role == "admin")
            << where << ": a route that needs a token names its role in x-required-role";
      }
    }
  }
  EXPECT_GT(operations, 0);

  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(document, "#", &refs);
  EXPECT_FALSE(refs.empty());
  for (const auto& [where, ref] : refs) {
    EXPECT_NE(Resolve(document, ref), nullptr) << where << ": $ref " << ref << " does not resolve";
  }
}

// ---- the document against a real HttpServer -------------------------------------------------

// A gateway's HTTP front on a free loopback port: API keys on (a read, an operate and an admin
// key), control and billing unreachable (a request that reaches gRPC answers 503), a live feed.
class GatewayHttp {
 public:
  GatewayHttp()
      : channel_(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials())),
        api_(channel_, channel_),
        read_token_(auth::MintToken()),
        operate_token_(auth::MintToken()),
        admin_token_(auth::MintToken()) {
    log::SetLevel("error");  // the refused requests are the point here, not news
    api_.SetReadiness([](std::function<void(HttpResponse)> respond) {
      respond(HttpResponse{200, R"({"status":"ready","checks":{}})", "application/json"});
    });
    std::string error;
    auto keys = auth::ApiKeyStore::Parse(
        auth::KeyLine("reader", auth::Role::kRead, read_token_) + "\n" +
            auth::KeyLine("operator", auth::Role::kOperate, operate_token_) + "\n" +
            auth::KeyLine("admin", auth::Role::kAdmin, admin_token_) + "\n",
        &error);
    if (!keys) throw std::runtime_error("keys: " + error);
    // No failure limit worth the name: this test fails authentication on purpose, often.
    authenticator_ = std::make_unique<auth::Authenticator>(
        std::make_shared<const auth::ApiKeyStore>(std::move(*keys)), 1000000,
        std::chrono::milliseconds(1));
    feed_ = std::make_unique<LiveFeed>(channel_, LiveFeed::Options{});
    for (int attempt = 0; attempt < 20 && !server_; ++attempt) {
      port_ = FreePort();
      auto server =
          std::make_unique<HttpServer>(io_, api_, feed_.get(), authenticator_.get(), &uploads_);
      if (server->Listen("127.0.0.1:" + std::to_string(port_), &error)) server_ = std::move(server);
    }
    if (!server_) throw std::runtime_error("cannot listen: " + error);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~GatewayHttp() {
    server_->Shutdown();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  struct Reply {
    int status = 0;
    std::string content_type;
    std::string body;
  };

  // One request on its own connection. An event stream is read up to its header.
  Reply Ask(const std::string& method, const std::string& target, const std::string& token,
            const std::string& body = "") {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read_header(stream, buffer, parser);
    Reply reply;
    reply.status = parser.get().result_int();
    reply.content_type = std::string(parser.get()[http::field::content_type]);
    if (reply.content_type != "text/event-stream") {
      http::read(stream, buffer, parser);
      reply.body = parser.get().body();
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return reply;
  }

  const std::string& read_token() const { return read_token_; }
  const std::string& operate_token() const { return operate_token_; }
  const std::string& admin_token() const { return admin_token_; }

 private:
  static int FreePort() {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
  }

  std::shared_ptr<grpc::Channel> channel_;
  RestApi api_;
  LogUploadReceiver uploads_{channel_, LogUploadReceiver::Options{}};
  std::string read_token_, operate_token_, admin_token_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<LiveFeed> feed_;
  // Destroyed before the feed and the API: its sessions point at them.
  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      net::make_work_guard(io_)};
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::thread thread_;
};

std::string Describe(const GatewayHttp::Reply& reply) {
  return std::to_string(reply.status) + " " + reply.content_type + " " + reply.body.substr(0, 200);
}

TEST(OpenApiDocument, IsServedOpenAsJson) {
  GatewayHttp gateway;
  auto reply = gateway.Ask("GET", "/openapi.json", /*token=*/"");
  ASSERT_EQ(reply.status, 200) << Describe(reply);
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_TRUE(reply.body == ReadFile(CSMS_OPENAPI_FILE))
      << "the served document is not " << CSMS_OPENAPI_FILE << " (rebuild csms_gateway)";
  EXPECT_EQ(gateway.Ask("POST", "/openapi.json", gateway.operate_token(), "{}").status, 405);
}

TEST(OpenApiDocument, EveryDocumentedOperationIsServedWithItsSecurity) {
  const json& document = Document();
  ASSERT_TRUE(document.is_object() && document.contains("paths") && document["paths"].is_object())
      << CSMS_OPENAPI_FILE << " is not an OpenAPI document";
  GatewayHttp gateway;
  const json schemes =
      document.value("components", json::object()).value("securitySchemes", json::object());
  int checked = 0;
  for (const auto& [path_template, item] : document["paths"].items()) {
    for (const auto& [key, operation] : item.items()) {
      if (std::find(std::begin(kOperationKeys), std::end(kOperationKeys), key) ==
          std::end(kOperationKeys)) {
        continue;
      }
      const std::string method = Upper(key);
      const std::string target = ConcreteTarget(document, path_template, item, operation);
      const std::string body = operation.contains("requestBody") ? "{}" : "";
      const std::string where = method + " " + target + " (" + path_template + ")";
      ++checked;

      const std::string role = operation.value("x-required-role", "");
      // The least role the route takes: served to it, refused to the roles below.
      const std::string& allowed =
          role == "admin" ? gateway.admin_token() : gateway.operate_token();
      auto served = gateway.Ask(method, target, allowed, body);
      EXPECT_EQ(Classify(served.status, served.body), Served::kYes)
          << where << " is documented but not served: " << Describe(served);
      EXPECT_NE(served.status, 401) << where << ": " << Describe(served);
      EXPECT_NE(served.status, 403) << where << ": " << Describe(served);

      const json security = operation.value("security", document.value("security", json()));
      const bool open = security.is_array() && security.empty();
      auto anonymous = gateway.Ask(method, target, "", body);
      if (open) {
        EXPECT_NE(anonymous.status, 401)
            << where << " is documented as open (security: []) but needs a token";
      } else {
        EXPECT_EQ(anonymous.status, 401)
            << where << " is served without a token; mark it open (security: []) or fix the "
            << "server: " << Describe(anonymous);
      }
      if (open) continue;

      auto reader = gateway.Ask(method, target, gateway.read_token(), body);
      if (role == "read") {
        EXPECT_NE(reader.status, 401) << where << ": " << Describe(reader);
        EXPECT_NE(reader.status, 403)
            << where << " is documented for the read role but refuses a read key";
      } else {
        EXPECT_EQ(reader.status, 403)
            << where << " needs role " << role << " but a read key gets " << Describe(reader);
      }
      if (role == "admin") {
        auto operate = gateway.Ask(method, target, gateway.operate_token(), body);
        EXPECT_EQ(operate.status, 403)
            << where << " needs role admin but an operate key gets " << Describe(operate);
      }
      // A token in the query, where an apiKey scheme says so (GET /events?access_token=).
      for (const auto& requirement : security) {
        for (const auto& [name, scopes] : requirement.items()) {
          const json scheme = schemes.value(name, json::object());
          if (scheme.value("type", "") != "apiKey" || scheme.value("in", "") != "query") continue;
          const std::string with_token =
              target + "?" + scheme.value("name", "") + "=" + gateway.read_token();
          auto by_query = gateway.Ask(method, with_token, "", body);
          EXPECT_NE(by_query.status, 401)
              << method << " " << path_template << " is documented to take the token as ?"
              << scheme.value("name", "") << "=, but does not";
        }
      }
    }
  }
  EXPECT_GT(checked, 30);
}

TEST(OpenApiDocument, DescribesEveryServedRoute) {
  const json& document = Document();
  ASSERT_TRUE(document.is_object() && document.contains("paths") && document["paths"].is_object())
      << CSMS_OPENAPI_FILE << " is not an OpenAPI document";
  GatewayHttp gateway;
  for (const auto& route : kServedRoutes) {
    const std::string where = std::string(route.method) + " " + route.target;
    const std::string body = std::string(route.method) == "GET" ? "" : "{}";
    auto reply = gateway.Ask(route.method, route.target, gateway.operate_token(), body);
    EXPECT_EQ(Classify(reply.status, reply.body), Served::kYes)
        << where << " is in kServedRoutes but not served (fix the list): " << Describe(reply);
    EXPECT_NE(FindOperation(document, route.method, route.target), nullptr)
        << where << " is served but gateway/openapi.json does not describe it";
  }
}

// ---- a sweep for routes nobody listed -----------------------------------------------------------

// Path segments that the routing code names: its string literals, split at '/'.
std::set<std::string> RouteWords() {
  std::set<std::string> words;
  const std::regex literal(R"re("((?:[^"\\\n]|\\.)*)")re");
  const std::regex word(R"([A-Za-z0-9][A-Za-z0-9._-]{0,39})");
  for (const char* file : {"rest_api.cc", "rest_commands.cc", "rest_charger_data.cc",
                           "rest_alerts.cc", "rest_log_uploads.cc", "rest_tokens.cc",
                           "rest_reservations.cc", "rest_tariffs.cc", "dashboard_assets.cc"}) {
    const std::string source = ReadFile(std::string(CSMS_GATEWAY_SOURCE_DIR) + "/src/" + file);
    EXPECT_FALSE(source.empty()) << "cannot read gateway/src/" << file;
    for (std::sregex_iterator it(source.begin(), source.end(), literal), end; it != end; ++it) {
      for (const auto& segment : Segments((*it)[1].str())) {
        const bool header = segment.size() > 2 && segment.substr(segment.size() - 2) == ".h";
        if (std::regex_match(segment, word) && !header) words.insert(segment);
      }
    }
  }
  // The names the document uses, so that its literal segments are swept too.
  for (const auto& [path, item] : Document()["paths"].items()) {
    for (const auto& segment : Segments(path)) {
      if (!IsTemplateSegment(segment)) words.insert(segment);
    }
  }
  return words;
}

TEST(OpenApiDocument, RouterServesNothingUndocumented) {
  const json& document = Document();
  ASSERT_TRUE(document.is_object() && document.contains("paths") && document["paths"].is_object())
      << CSMS_OPENAPI_FILE << " is not an OpenAPI document";
  const std::set<std::string> words = RouteWords();
  ASSERT_TRUE(words.count("chargers") && words.count("start")) << "the word scan found nothing";

  const std::string id = "CS001";
  std::vector<std::string> paths = {"/"};
  for (const auto& a : words) {
    paths.push_back("/" + a);
    paths.push_back("/" + a + "/" + id);
    paths.push_back("/" + a + "/" + id + "/" + id);
    for (const auto& b : words) {
      paths.push_back("/" + a + "/" + b);
      paths.push_back("/" + a + "/" + id + "/" + b);
      paths.push_back("/" + a + "/" + b + "/" + id);
      paths.push_back("/" + a + "/" + id + "/" + b + "/" + id);
    }
  }

  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  auto api = std::make_unique<RestApi>(channel, channel);
  api->SetReadiness([](std::function<void(HttpResponse)> respond) {
    respond(HttpResponse{200, R"({"status":"ready","checks":{}})", "application/json"});
  });
  // Answers that come later (the request reached gRPC) are served routes; wait for them all
  // before the RestApi goes.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    int outstanding = 0;
  };
  auto pending = std::make_shared<Pending>();
  std::set<std::string> undocumented, unknown_paths;
  size_t requests = 0;
  for (const auto& path : paths) {
    for (const char* method : kSweepMethods) {
      if (kAnyMethodPaths.count(path) && std::string(method) != "GET") continue;
      ++requests;
      // The answer, when it came before Handle returned; one still on its way reached gRPC.
      auto answer = std::make_shared<std::optional<HttpResponse>>();
      {
        std::lock_guard lock(pending->mu);
        ++pending->outstanding;
      }
      const std::string body = std::string(method) == "GET" ? "" : "{}";
      api->Handle(HttpRequest{method, path, body, {}, {}}, [pending, answer](HttpResponse r) {
        std::lock_guard lock(pending->mu);
        *answer = std::move(r);
        if (--pending->outstanding == 0) pending->cv.notify_all();
      });
      const std::string where = std::string(method) + " " + path;
      Served served = Served::kYes;
      {
        std::lock_guard lock(pending->mu);
        if (*answer) served = Classify((*answer)->status, (*answer)->body);
      }
      if (served == Served::kYes && !FindOperation(document, method, path)) {
        undocumented.insert(where);
      }
      if (served == Served::kWrongMethod && !PathDocumented(document, path)) {
        unknown_paths.insert(path);
      }
    }
  }
  bool all_answered;
  {
    std::unique_lock lock(pending->mu);
    all_answered = pending->cv.wait_for(lock, std::chrono::seconds(60),
                                        [&] { return pending->outstanding == 0; });
  }
  if (!all_answered) {
    api.release();  // a late gRPC completion must not find a destroyed RestApi
    FAIL() << "requests to the unreachable backend still unanswered after 60 s";
  }
  EXPECT_GT(requests, 10000u);
  // The same route shows up under many names (every word where an id goes): a few say enough.
  auto report = [](const std::set<std::string>& found, const std::string& what) {
    if (found.empty()) return;
    std::vector<std::string> sorted(found.begin(), found.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.size() < b.size(); });
    std::string list;
    for (size_t i = 0; i < sorted.size() && i < 12; ++i) list += "\n  " + sorted[i];
    ADD_FAILURE() << found.size() << " " << what << list << (sorted.size() > 12 ? "\n  ..." : "");
  };
  report(undocumented, "requests are served but gateway/openapi.json does not describe them:");
  report(unknown_paths, "paths exist (405 for some method) but gateway/openapi.json lacks them:");
}

}  // namespace
}  // namespace csms::gateway
