// End to end for the operator's view: stations over REST (through the gateway to control and
// PostgreSQL), the embedded dashboard files and the live feed (Server-Sent Events).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "net_clients.h"
#include "pg_test_db.h"
#include "shared_stack_test.h"
#include "stack.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A raw HTTP/1.1 client that keeps reading: GET /events stays open.
class RawHttp {
 public:
  ~RawHttp() {
    if (fd_ >= 0) close(fd_);
  }
  bool Send(int port, const std::string& request) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    return write(fd_, request.data(), request.size()) == static_cast<ssize_t>(request.size());
  }
  // Reads until `data()` contains `needle` after `from`, or the timeout. True when found.
  bool ReadUntil(const std::string& needle, milliseconds timeout, size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (data_.find(needle, from) == std::string::npos) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      data_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& data() const { return data_; }

 private:
  int fd_ = -1;
  std::string data_;
};

// The JSON of the first `event: <name>` after `from` whose data contains `contains`.
std::optional<json> FindEvent(const std::string& stream, const std::string& name,
                              const std::string& contains, size_t from = 0) {
  const std::string marker = "event: " + name + "\ndata: ";
  for (size_t at = stream.find(marker, from); at != std::string::npos;
       at = stream.find(marker, at + 1)) {
    size_t begin = at + marker.size();
    size_t end = stream.find('\n', begin);
    if (end == std::string::npos) return std::nullopt;
    std::string data = stream.substr(begin, end - begin);
    if (data.find(contains) != std::string::npos) return json::parse(data, nullptr, false);
  }
  return std::nullopt;
}

class DashboardEndToEnd : public SharedStackTest<DashboardEndToEnd> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "dashboard-e2e";
    options.gateway_args = {"--map-tile-url", "https://tiles.invalid/{z}/{x}/{y}.png",
                            "--map-tile-attribution", "test tiles"};
  }

 protected:
  static HttpResult Rest(const std::string& method, const std::string& target,
                         const std::string& body = "") {
    return HttpCall(stack_->http_port, method, target, body, seconds(10));
  }
};

TEST_F(DashboardEndToEnd, StationsRestShapeAndErrors) {
  auto created = Rest("POST", "/stations",
                      R"({"station_id":"rest_main","name":"emart Jeju","address":"Jeju City",
                          "latitude":33.4996,"longitude":126.5312,
                          "charger_ids":["rest_02","rest_01"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json(), (json{{"station_id", "rest_main"},
                                  {"name", "emart Jeju"},
                                  {"address", "Jeju City"},
                                  {"latitude", 33.4996},
                                  {"longitude", 126.5312},
                                  {"charger_ids", {"rest_01", "rest_02"}}}));

  auto list = Rest("GET", "/stations");
  ASSERT_EQ(list.status, 200) << list.body;
  json listed = list.Json();
  ASSERT_TRUE(listed["stations"].is_array());
  bool found = false;
  for (const auto& s : listed["stations"]) {
    if (s["station_id"] != "rest_main") continue;
    found = true;
    EXPECT_EQ(s, created.Json());
  }
  EXPECT_TRUE(found) << list.body;

  auto updated = Rest("PUT", "/stations/rest_main", R"json({"name":"emart Jeju (renamed)"})json");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.Json()["name"], "emart Jeju (renamed)");
  EXPECT_EQ(updated.Json()["charger_ids"], (json{"rest_01", "rest_02"}));  // kept

  ASSERT_EQ(Rest("POST", "/stations",
                 R"({"station_id":"rest_other","name":"Other","latitude":33.5,"longitude":126.6})")
                .status,
            201);
  auto moved = Rest("PUT", "/chargers/rest_01/station", R"({"station_id":"rest_other"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.Json(), (json{{"status", "success"},
                                {"charger_id", "rest_01"},
                                {"station_id", "rest_other"},
                                {"previous_station_id", "rest_main"}}));
  EXPECT_EQ(Rest("GET", "/stations/rest_other").Json()["charger_ids"], (json{"rest_01"}));

  // Errors: the REST error shape with the right codes.
  auto expect_error = [](const HttpResult& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = r.Json();
    EXPECT_EQ(j["status"], "error") << r.body;
    EXPECT_EQ(j["error"], code) << r.body;
    EXPECT_TRUE(j["message"].is_string()) << r.body;
  };
  expect_error(Rest("POST", "/stations",
                    R"({"station_id":"rest_main","name":"x","latitude":1,"longitude":2})"),
               409, "conflict");
  expect_error(Rest("POST", "/stations",
                    R"({"station_id":"rest_x","name":"x","latitude":1,"longitude":2,
                        "charger_ids":["rest_02"]})"),
               409, "conflict");
  expect_error(Rest("POST", "/stations", "not json"), 400, "bad_request");
  expect_error(Rest("POST", "/stations", R"({"station_id":"rest_x","name":"x"})"), 400,
               "bad_request");
  expect_error(Rest("POST", "/stations",
                    R"({"station_id":"rest_x","name":"x","latitude":"33","longitude":2})"),
               400, "bad_request");
  expect_error(Rest("POST", "/stations",
                    R"({"station_id":"rest_x","name":"x","latitude":95,"longitude":2})"),
               400, "bad_request");
  expect_error(Rest("PUT", "/stations/nowhere", R"({"name":"x"})"), 404, "not_found");
  expect_error(Rest("PUT", "/stations/rest_main", R"({"station_id":"other"})"), 400, "bad_request");
  expect_error(Rest("GET", "/stations/nowhere"), 404, "not_found");
  expect_error(Rest("PUT", "/chargers/rest_01/station", R"({"station_id":"nowhere"})"), 404,
               "not_found");
  expect_error(Rest("PUT", "/chargers/rest_01/station", R"({"station_id":5})"), 400, "bad_request");
  expect_error(Rest("PATCH", "/stations"), 405, "method_not_allowed");

  auto deleted = Rest("DELETE", "/stations/rest_other");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  expect_error(Rest("DELETE", "/stations/rest_other"), 404, "not_found");
  auto unassigned = Rest("PUT", "/chargers/rest_02/station", R"({"station_id":null})");
  EXPECT_EQ(unassigned.status, 200) << unassigned.body;
  EXPECT_EQ(Rest("GET", "/stations/rest_main").Json()["charger_ids"], json::array());
}

TEST_F(DashboardEndToEnd, ServesTheEmbeddedDashboard) {
  RawHttp page;
  ASSERT_TRUE(
      page.Send(stack_->http_port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  page.ReadUntil("</html>", seconds(5));
  EXPECT_NE(page.data().find("Content-Type: text/html"), std::string::npos) << page.data();
  EXPECT_NE(page.data().find("/assets/app.js"), std::string::npos) << page.data();
  // The page may load only its own bundle and may not be framed.
  EXPECT_NE(page.data().find("Content-Security-Policy: default-src 'none'; script-src 'self';"),
            std::string::npos)
      << page.data();
  EXPECT_NE(page.data().find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(page.data().find("X-Content-Type-Options: nosniff"), std::string::npos);

  // API answers are never cached; oversized headers get 431, not a generic error.
  auto chargers = Rest("GET", "/chargers");
  EXPECT_EQ(chargers.headers["cache-control"], "no-store");
  EXPECT_EQ(chargers.headers["x-content-type-options"], "nosniff");
  auto huge = HttpCall(stack_->http_port, "GET", "/chargers", "", seconds(5),
                       {{"X-Filler", std::string(9000, 'a')}});
  EXPECT_EQ(huge.status, 431) << huge.body;

  auto js = Rest("GET", "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_GT(js.body.size(), 10000u) << "the bundle (Leaflet included) looks empty";
  EXPECT_NE(js.body.find("EventSource"), std::string::npos);
  auto css = Rest("GET", "/assets/app.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_NE(css.body.find("leaflet"), std::string::npos);
  EXPECT_EQ(Rest("GET", "/assets/nothing.js").status, 404);
  // The base map is data of the release: cached a day, not fetched on every page load (0.76 MB).
  auto basemap = Rest("GET", "/assets/basemap.json");
  ASSERT_EQ(basemap.status, 200) << "built with the dashboard (scripts/build.sh runs npm ci)";
  EXPECT_EQ(basemap.headers["cache-control"], "public, max-age=86400");
  EXPECT_GT(basemap.body.size(), 100000u);
  EXPECT_EQ(js.headers["cache-control"], "") << "code follows each release at once";

  auto config = Rest("GET", "/dashboard/config.json");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.Json(), (json{{"tile_url", "https://tiles.invalid/{z}/{x}/{y}.png"},
                                 {"tile_attribution", "test tiles"}}));
}

TEST_F(DashboardEndToEnd, EventStreamFollowsChargerState) {
  ASSERT_EQ(Rest("POST", "/stations",
                 R"({"station_id":"sse_station","name":"SSE","latitude":33.49,
                     "longitude":126.49,"charger_ids":["sse_01"]})")
                .status,
            201);
  RawHttp events;
  ASSERT_TRUE(events.Send(stack_->http_port,
                          "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"));
  ASSERT_TRUE(events.ReadUntil("event: snapshot", seconds(5))) << events.data();
  ASSERT_TRUE(events.ReadUntil("\n\n", seconds(5), events.data().find("event: snapshot")));
  EXPECT_NE(events.data().find("Content-Type: text/event-stream"), std::string::npos);
  auto snapshot = FindEvent(events.data(), "snapshot", "");
  ASSERT_TRUE(snapshot && snapshot->contains("stations")) << events.data();
  EXPECT_NE(snapshot->dump().find("sse_station"), std::string::npos);

  // A charger connects: its state arrives as a `charger` event.
  size_t mark = events.data().size();
  auto started_at = std::chrono::steady_clock::now();
  auto sim = stack_->StartSimulator("sse_01", "standard", {"--energy-speedup", "50"});
  ASSERT_TRUE(sim);
  ASSERT_TRUE(events.ReadUntil(R"("status":"Available")", seconds(10), mark)) << events.data();
  auto available = FindEvent(events.data(), "charger", R"("status":"Available")", mark);
  ASSERT_TRUE(available) << events.data();
  EXPECT_EQ((*available)["charger_id"], "sse_01");
  EXPECT_EQ((*available)["station_id"], "sse_station");
  EXPECT_EQ((*available)["connected"], true);

  // A remote start: the stream shows Charging within a second or so of the answer.
  mark = events.data().size();
  auto start = Rest("POST", "/chargers/sse_01/start", R"({"id_token":"sse_user"})");
  ASSERT_EQ(start.status, 200) << start.body;
  auto answered = std::chrono::steady_clock::now();
  ASSERT_TRUE(events.ReadUntil(R"("status":"Charging")", seconds(2), mark)) << events.data();
  EXPECT_LT(std::chrono::steady_clock::now() - answered, seconds(2));
  auto charging = FindEvent(events.data(), "charger", R"("status":"Charging")", mark);
  ASSERT_TRUE(charging);
  EXPECT_EQ((*charging)["transaction_id"], start.Json()["transaction_id"]);

  // Offline when the simulator goes away.
  mark = events.data().size();
  sim->Stop(SIGTERM);
  EXPECT_TRUE(events.ReadUntil(R"("status":"Offline")", seconds(5), mark)) << events.data();
  (void)started_at;
}

}  // namespace
}  // namespace csms::testing
