// csms-loadgen: OCPP 2.0.1 load generator for the gateway.
//
// Modes:
//   heartbeat     N connections boot, then send Heartbeat CALLs.
//   transactions  N connections boot, then run TransactionEvent cycles (Started seqNo 0, Updated
//                 seqNo 1..k, Ended), a new transaction id each cycle, increasing registers.
//   storm         N connections connect and boot at once; reports the time until all booted.
//   idle          N connections boot, then hold idle while the RSS of --server-pid is sampled.
// --rate 0 is a closed loop (each connection sends its next CALL when the reply arrives); --rate R
// is an open loop with R messages/s in aggregate, R/N per connection on a fixed schedule. OCPP
// allows one outstanding CALL per direction, so a connection still waiting at its scheduled time
// sends late; latency is measured from the scheduled time (no coordinated omission).
// wss:// URLs run every mode over TLS (--ca-file, --client-cert, --client-key, --tls-sigalgs).
// --answer-reports answers GetBaseReport / GetReport from the CSMS with Accepted and then sends
// the report as NotifyReport parts, each after the previous one's CALLRESULT; a storm then waits
// until every booted station has sent one complete report (or --report-timeout).
// Prints one JSON object on stdout and a summary line on stderr. Every run ends by itself.
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "csms/charger_sim/sim_util.h"
#include "csms/charger_sim/station_tls.h"
#include "csms/common/config.h"
#include "csms/common/ocpp_schema.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

using csms::sim::MakeStationTlsContext;
using csms::sim::OpenSslError;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kSubprotocol = "ocpp2.0.1";
constexpr std::string_view kBootFrame =  // after `[2,"<id>",`
    R"("BootNotification",{"reason":"PowerUp","chargingStation":)"
    R"({"model":"Bench","vendorName":"CSMS"}}])";
constexpr auto kConnectTimeout = std::chrono::seconds(30);
constexpr auto kCloseGrace = std::chrono::seconds(3);
constexpr int64_t kStalledNs = 1'000'000'000;  // a CALL unanswered this long at the end

enum class Mode { kHeartbeat, kTransactions, kStorm, kIdle };

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kHeartbeat:
      return "heartbeat";
    case Mode::kTransactions:
      return "transactions";
    case Mode::kStorm:
      return "storm";
    case Mode::kIdle:
      return "idle";
  }
  return "?";
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// UTC "YYYY-MM-DDTHH:MM:SSZ" of now, cached per second (single-threaded use per caller thread).
std::string_view UtcNow() {
  thread_local time_t cached = 0;
  thread_local char buf[32];
  time_t now = std::time(nullptr);
  if (now != cached) {
    cached = now;
    tm t{};
    gmtime_r(&now, &t);
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
  }
  return buf;
}

// VmRSS of a process in KiB, or -1.
int64_t RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

struct Options {
  Mode mode = Mode::kHeartbeat;
  std::string host;
  std::string port;
  std::string host_header;  // host[:port] as given in the URL
  std::string path;         // without a trailing slash; the station id is appended
  bool tls = false;         // wss://
  std::string ca_file;      // PEM CAs for the server certificate; empty: the system's
  std::string client_cert;  // PEM; "{id}" stands for the station id (one certificate each)
  std::string client_key;
  std::string tls_sigalgs;  // OpenSSL signature algorithm list: picks the server's certificate
  std::string password;     // HTTP Basic auth (security profiles 1 and 2); empty: none
  int connections = 100;
  double rate = 0;  // aggregate messages/s; 0 = closed loop
  std::string id_prefix;
  double seconds = 10;
  double warmup_seconds = 2;
  double setup_timeout_seconds = 60;
  double connect_rate = 0;  // new connections per second during setup; 0: all at once
  int threads = 1;
  int source_ips = 1;
  int tx_updates = 3;
  std::vector<int> server_pids;
  // Remote starts through REST during the measured window (empty: none).
  std::string rest_host;
  std::string rest_port;
  int remote_starts = 0;  // at most this many start/stop pairs; 0 = as many as fit
  // Device model reports: GetBaseReport / GetReport answered with NotifyReport parts.
  bool answer_reports = false;
  int report_variables = 200;           // variables per report
  int report_items_per_part = 50;       // reportData items per NotifyReport part
  double report_timeout_seconds = 900;  // storm: how long to wait for the reports after the boots
  // Heartbeat mode: send Authorize for BENCH%08d (a random one below this) instead of
  // Heartbeat (bench/run.sh token-import stores those ids); 0 = heartbeats.
  int authorize_tokens = 0;
};

// The reportData of every NotifyReport part of one report, as `"reportData":[...]` (empty for
// a report of no variables: one part without reportData). Every station reports the same
// variables: standard controller components with variables of every data type, some per EVSE or
// connector, some with a Target attribute or write-only (no value), unique names throughout.
std::vector<std::string> BuildReportParts(int variables, int per_part) {
  static constexpr const char* kComponents[] = {
      "ChargingStation", "OCPPCommCtrlr",    "SecurityCtrlr",
      "DeviceDataCtrlr", "SampledDataCtrlr", "TxCtrlr",
      "AuthCtrlr",       "ClockCtrlr",       "EVSE",
      "Connector"};
  static constexpr const char* kTypes[] = {"integer", "string", "boolean", "decimal", "OptionList"};
  std::vector<std::string> parts;
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < variables; ++i) {
    const std::string component = kComponents[i % 10];
    nlohmann::json c = {{"name", component}};
    if (component == "EVSE" || component == "Connector") {
      c["evse"] = {{"id", 1 + (i / 10) % 2}};
      if (component == "Connector") c["evse"]["connectorId"] = 1;
    }
    const std::string type = kTypes[(i / 3) % 5];
    nlohmann::json characteristics = {{"dataType", type}, {"supportsMonitoring", i % 7 == 0}};
    std::string value;
    if (type == "integer") {
      value = std::to_string(i * 10);
      characteristics["minLimit"] = 0;
      characteristics["maxLimit"] = 100000;
    } else if (type == "string") {
      value = "bench-value-" + std::to_string(i);
    } else if (type == "boolean") {
      value = i % 2 == 0 ? "true" : "false";
    } else if (type == "decimal") {
      value = std::to_string(i) + ".5";
      characteristics["unit"] = "kW";
    } else {
      value = "Fast";
      characteristics["valuesList"] = "Slow,Normal,Fast";
    }
    const bool write_only = i % 50 == 49;  // a secret: reported without its value
    nlohmann::json actual = {{"type", "Actual"},
                             {"mutability", write_only   ? "WriteOnly"
                                            : i % 2 == 0 ? "ReadWrite"
                                                         : "ReadOnly"},
                             {"persistent", true},
                             {"constant", false}};
    if (!write_only) actual["value"] = value;
    nlohmann::json attributes = nlohmann::json::array({actual});
    if (i % 4 == 0 && !write_only) attributes.push_back({{"type", "Target"}, {"value", value}});
    items.push_back({{"component", c},
                     {"variable", {{"name", "BenchVariable" + std::to_string(i)}}},
                     {"variableAttribute", attributes},
                     {"variableCharacteristics", characteristics}});
    if (static_cast<int>(items.size()) == per_part || i + 1 == variables) {
      parts.push_back("\"reportData\":" + items.dump());
      items = nlohmann::json::array();
    }
  }
  if (parts.empty()) parts.emplace_back();
  return parts;
}

// `","NotifyReport",{...}]`: part `seq` of report `request_id`, to follow `[2,"<id>`.
std::string NotifyReportFrame(const std::vector<std::string>& parts, int64_t request_id,
                              std::string_view generated_at, size_t seq) {
  std::string frame = R"(","NotifyReport",{"requestId":)" + std::to_string(request_id) +
                      R"(,"generatedAt":")" + std::string(generated_at) + R"(","seqNo":)" +
                      std::to_string(seq) + R"(,"tbc":)" +
                      (seq + 1 < parts.size() ? "true" : "false");
  if (!parts[seq].empty()) frame += "," + parts[seq];
  frame += "}]";
  return frame;
}

// Splits http://host:port into host and port.
bool ParseHttpUrl(const std::string& url, std::string* host, std::string* port) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  std::string authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find('/'));
  auto colon = authority.rfind(':');
  *host = authority.substr(0, colon);
  *port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  return !host->empty() && !port->empty();
}

bool ParseWsUrl(const std::string& url, Options* out, std::string* error) {
  std::string rest;
  if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else if (url.rfind("wss://", 0) == 0) {
    rest = url.substr(6);
    out->tls = true;
  } else {
    *error = "--url must start with ws:// or wss://";
    return false;
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out->path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out->path.empty() && out->path.back() == '/') out->path.pop_back();
  out->host_header = authority;
  std::string port_part;
  if (!authority.empty() && authority.front() == '[') {  // [v6 address]:port
    auto close = authority.find(']');
    if (close == std::string::npos) {
      *error = "bad IPv6 host in --url";
      return false;
    }
    out->host = authority.substr(1, close - 1);
    port_part = authority.substr(close + 1);
    if (!port_part.empty() && port_part.front() != ':') {
      *error = "bad host:port in --url";
      return false;
    }
    if (!port_part.empty()) port_part.erase(0, 1);
  } else {
    auto colon = authority.rfind(':');
    out->host = authority.substr(0, colon);
    if (colon != std::string::npos) port_part = authority.substr(colon + 1);
  }
  out->port = port_part.empty() ? (out->tls ? "443" : "80") : port_part;
  if (out->host.empty()) {
    *error = "--url has no host";
    return false;
  }
  return true;
}

// Per-connection counters; only the connection's own handlers touch them until the run ends.
struct Stats {
  uint64_t calls = 0;         // CALLRESULTs received inside the measured window
  uint64_t transactions = 0;  // Ended acknowledged inside the measured window
  std::vector<uint32_t> latency_us;
  uint64_t connect_errors = 0;
  uint64_t boot_errors = 0;
  uint64_t call_errors = 0;       // CALLERROR replies
  uint64_t not_accepted = 0;      // Authorize answered other than Accepted
  uint64_t unexpected = 0;        // frames that are neither our CALLRESULT nor our CALLERROR
  uint64_t closed = 0;            // connections lost before the end
  uint64_t stalled = 0;           // a CALL still unanswered after kStalledNs when the run stopped
  uint64_t boot_pending = 0;      // BootNotification answered Pending (retried after `interval`)
  uint64_t late = 0;              // open loop: sends that went out after their scheduled time
  uint64_t csms_calls = 0;        // CALLs from the CSMS answered (remote start/stop)
  uint64_t negative_latency = 0;  // replies whose latency origin lay in the future (see above)
  std::vector<uint32_t> connect_us;  // connect start -> WebSocket open (TCP, TLS, upgrade)
  std::vector<uint32_t> tls_us;      // TCP connected -> TLS handshake done
  uint64_t reports_requested = 0;    // GetBaseReport / GetReport answered Accepted
  uint64_t reports_rejected = 0;     // ... answered Rejected: a report was still going out
  uint64_t reports_failed = 0;       // abandoned after a CALLERROR to one of its parts
  uint64_t reports_completed = 0;    // their last NotifyReport part acknowledged
  uint64_t report_parts = 0;         // NotifyReport parts acknowledged (CALLRESULT)
  std::vector<uint32_t> report_us;   // GetBaseReport received -> last part acknowledged
  std::vector<uint32_t> part_us;     // NotifyReport part sent -> its CALLRESULT
};

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Latencies (µs) → {"p50","p99","max"} in ms.
nlohmann::ordered_json LatencySummary(std::vector<uint32_t> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double p) -> double {
    if (us.empty()) return 0;
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(us.size())));
    return std::round(us[std::clamp<size_t>(rank, 1, us.size()) - 1]) / 1000;
  };
  return {{"p50", at(0.5)}, {"p99", at(0.99)}, {"max", us.empty() ? 0.0 : us.back() / 1000.0}};
}

// What Bench needs of a connection, over ws:// or wss:// (ConnectionImpl below).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual net::any_io_executor executor() = 0;
  virtual const Stats& stats() const = 0;
  virtual void Start() = 0;
  virtual void AbortSetup() = 0;
  virtual void Begin(int64_t first_ns, int64_t interval_ns) = 0;
  virtual void Stop() = 0;
  virtual void ForceClose() = 0;
};

// Owns the connections and the run's phases. Its own state lives on the control strand.
class Bench {
 public:
  Bench(net::io_context& io, Options options)
      : io_(io),
        options_(std::move(options)),
        ctl_(net::make_strand(io)),
        setup_timer_(ctl_),
        ramp_timer_(ctl_),
        phase_timer_(ctl_),
        grace_timer_(ctl_),
        sample_timer_(ctl_),
        report_timer_(ctl_) {
    if (options_.answer_reports) {
      report_parts_ = BuildReportParts(options_.report_variables, options_.report_items_per_part);
    }
  }

  int Run();

  // Called from connections' handlers (any thread).
  void OnSetupDone(bool ok);
  void OnConnectionDone();
  // Starts connections from `first` on: all of them, or with --connect-rate a slice every 10 ms.
  void StartConnections(size_t first);
  void NoteError(const std::string& message);
  // A station's report was acknowledged to the end (its last part's CALLRESULT came at `now_ns`).
  void OnReportComplete(int64_t now_ns);
  // The first TLS session's parameters, for the report.
  void NoteTls(SSL* ssl);

  const Options& options() const { return options_; }
  const tcp::endpoint& endpoint() const { return endpoint_; }
  const std::string& run_tag() const { return run_tag_; }
  // --answer-reports: the reportData of each NotifyReport part (BuildReportParts).
  const std::vector<std::string>& report_parts() const { return report_parts_; }
  int64_t measure_start_ns() const { return measure_start_ns_.load(std::memory_order_relaxed); }
  int64_t measure_end_ns() const { return measure_end_ns_.load(std::memory_order_relaxed); }

 private:
  void StartPhase();
  // Storm with --answer-reports: finish once every booted station's report is complete.
  void AwaitReports();
  void SampleRss();
  void Finish();
  int Report(double setup_seconds);
  // Remote starts and stops through REST, one after another, during the measured window.
  void RunRemoteStarts();
  // One REST call; returns the parsed body, or a string describing the failure.
  nlohmann::json RestCall(beast::tcp_stream& stream, http::verb verb, const std::string& target,
                          const nlohmann::json& body, bool* ok);

  net::io_context& io_;
  Options options_;
  net::strand<net::io_context::executor_type> ctl_;
  net::steady_timer setup_timer_;
  net::steady_timer ramp_timer_;
  net::steady_timer phase_timer_;
  net::steady_timer grace_timer_;
  net::steady_timer sample_timer_;
  net::steady_timer report_timer_;
  std::vector<std::string> report_parts_;
  tcp::endpoint endpoint_;
  std::string run_tag_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::atomic<int64_t> measure_start_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> measure_end_ns_{std::numeric_limits<int64_t>::max()};
  // Control strand only.
  int setup_done_ = 0;
  int ready_ = 0;
  int done_ = 0;
  bool phase_started_ = false;
  bool finishing_ = false;
  int64_t run_start_ns_ = 0;
  int64_t setup_end_ns_ = 0;
  int reports_done_ = 0;        // reports acknowledged to their last part
  int64_t last_report_ns_ = 0;  // when the last of them completed
  bool awaiting_reports_ = false;
  std::vector<int64_t> rss_before_;
  std::vector<int64_t> rss_booted_;
  std::vector<int64_t> rss_max_;
  // The REST thread's own results, read after it is joined.
  std::vector<uint32_t> rest_start_us_;
  std::vector<uint32_t> rest_stop_us_;
  uint64_t rest_errors_ = 0;
  std::atomic<bool> stopping_{false};
  // Any thread.
  std::mutex errors_mu_;
  std::vector<std::string> first_errors_;
  uint64_t suppressed_errors_ = 0;
  nlohmann::ordered_json tls_info_;  // under errors_mu_
};

template <class Ws>
class ConnectionImpl : public Connection, public std::enable_shared_from_this<ConnectionImpl<Ws>> {
 public:
  static constexpr bool kTls = std::is_same_v<Ws, TlsWs>;

  ConnectionImpl(net::any_io_executor executor, Bench& bench, int index, std::string id,
                 std::shared_ptr<ssl::context> tls)
      : ws_(MakeWs(executor, tls.get())),
        timer_(executor),
        tls_(std::move(tls)),
        bench_(bench),
        index_(index),
        id_(std::move(id)) {
    target_ = bench_.options().path + "/" + id_;
    if (!bench_.options().password.empty()) {
      const std::string plain = id_ + ":" + bench_.options().password;
      std::string encoded(beast::detail::base64::encoded_size(plain.size()), '\0');
      encoded.resize(beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
      authorization_ = "Basic " + encoded;
    }
    wbuf_.reserve(bench_.options().mode == Mode::kTransactions ? 640 : 64);
    expect_.reserve(32);
  }

  net::any_io_executor executor() override { return ws_.get_executor(); }
  const Stats& stats() const override { return stats_; }

  void Start() override {
    state_ = State::kConnecting;
    start_ns_ = NowNs();
    auto& stream = beast::get_lowest_layer(ws_);
    const Options& o = bench_.options();
    if (o.source_ips > 1) {
      // 127.0.0.(1 + index % K); IP_BIND_ADDRESS_NO_PORT picks the port at connect time, so
      // each source address gets its own ephemeral port range per destination.
      beast::error_code ec;
      auto& sock = stream.socket();
      sock.open(bench_.endpoint().protocol(), ec);
      if (!ec) {
        int one = 1;
        ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        net::ip::address_v4::bytes_type b{127, 0, 0,
                                          static_cast<unsigned char>(1 + index_ % o.source_ips)};
        sock.bind(tcp::endpoint(net::ip::address_v4(b), 0), ec);
      }
      if (ec) return Fail(&Stats::connect_errors, "bind source address: " + ec.message());
    }
    stream.expires_after(kConnectTimeout);
    stream.async_connect(bench_.endpoint(), [self = shared_from_this()](beast::error_code ec) {
      self->OnConnect(ec);
    });
  }

  // Setup took too long: whatever is not running yet counts as failed.
  void AbortSetup() override {
    if (state_ == State::kConnecting) {
      Fail(&Stats::connect_errors, "connect/handshake did not finish within --setup-timeout");
    } else if (state_ == State::kBooting) {
      Fail(&Stats::boot_errors, "BootNotification not answered within --setup-timeout");
    }
  }

  // Measurement starts: open loop connections begin their schedule at `first_ns`.
  void Begin(int64_t first_ns, int64_t interval_ns) override {
    if (state_ != State::kReady) return;
    state_ = State::kRunning;
    interval_ns_ = interval_ns;
    next_sched_ns_ = first_ns;
    ScheduleNext();
  }

  // End of the run: close with 1000 once the current write (if any) is out.
  void Stop() override {
    if (state_ == State::kDone || state_ == State::kClosing) return;
    if (state_ != State::kRunning && state_ != State::kReady) return ForceClose();
    if (waiting_reply_ && NowNs() - sent_ns_ > kStalledNs) ++stats_.stalled;
    timer_.cancel();
    state_ = State::kClosing;
    if (writing_) {
      close_after_write_ = true;
    } else {
      DoClose();
    }
  }

  void ForceClose() override {
    timer_.cancel();
    beast::get_lowest_layer(ws_).close();
    Done();
  }

 private:
  enum class State { kIdle, kConnecting, kBooting, kReady, kRunning, kClosing, kDone };

  using std::enable_shared_from_this<ConnectionImpl<Ws>>::shared_from_this;

  static Ws MakeWs(net::any_io_executor executor, ssl::context* tls) {
    if constexpr (kTls) {
      return Ws(executor, *tls);
    } else {
      (void)tls;
      return Ws(executor);
    }
  }

  void OnConnect(beast::error_code ec) {
    if (state_ != State::kConnecting) return;
    if (ec) return Fail(&Stats::connect_errors, "connect: " + ec.message());
    auto& stream = beast::get_lowest_layer(ws_);
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (kTls) {
      StartTls();
    } else {
      stream.expires_never();
      Upgrade();
    }
  }

  // SNI and the host name check as a station does them, then the TLS handshake (still under
  // kConnectTimeout).
  void StartTls() {
    SSL* ssl = ws_.next_layer().native_handle();
    const std::string& host = bench_.options().host;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok = IsIpLiteral(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                : SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
                                      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
    if (!ok) return Fail(&Stats::connect_errors, "TLS set-up: " + OpenSslError("failed"));
    tcp_done_ns_ = NowNs();
    ws_.next_layer().async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code ec) { self->OnTlsHandshake(ec); });
  }

  void OnTlsHandshake(beast::error_code ec) {
    if (state_ != State::kConnecting) return;
    SSL* ssl = ws_.next_layer().native_handle();
    if (ec) {
      long verify = SSL_get_verify_result(ssl);
      return Fail(
          &Stats::connect_errors,
          "TLS handshake: " + ec.message() +
              (verify != X509_V_OK ? std::string(" (") + X509_verify_cert_error_string(verify) + ")"
                                   : std::string()));
    }
    stats_.tls_us.push_back(static_cast<uint32_t>((NowNs() - tcp_done_ns_) / 1000));
    bench_.NoteTls(ssl);
    beast::get_lowest_layer(ws_).expires_never();
    Upgrade();
  }

  void Upgrade() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(
        websocket::stream_base::decorator([auth = authorization_](websocket::request_type& req) {
          req.set(http::field::sec_websocket_protocol,
                  beast::string_view(kSubprotocol.data(), kSubprotocol.size()));
          req.set(http::field::user_agent, "csms-loadgen");
          if (!auth.empty()) req.set(http::field::authorization, auth);
        }));
    ws_.async_handshake(
        response_, bench_.options().host_header, target_,
        [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (state_ != State::kConnecting) return;
    if (ec) return Fail(&Stats::connect_errors, "WebSocket handshake: " + ec.message());
    stats_.connect_us.push_back(static_cast<uint32_t>((NowNs() - start_ns_) / 1000));
    auto selected = response_[http::field::sec_websocket_protocol];
    if (std::string_view(selected.data(), selected.size()) != kSubprotocol) {
      return Fail(&Stats::connect_errors, "server selected subprotocol '" +
                                              std::string(selected.data(), selected.size()) +
                                              "', not ocpp2.0.1");
    }
    response_ = {};
    ws_.text(true);
    state_ = State::kBooting;
    DoRead();
    SendBoot();
  }

  void SendBoot() {
    std::string id = std::to_string(next_id_++);
    wbuf_.assign(R"([2,")" + id + R"(",)");
    wbuf_.append(kBootFrame);
    expect_ = R"([3,")" + id + R"(")";
    waiting_reply_ = true;
    sent_ns_ = NowNs();
    if (writing_) {
      send_after_write_ = true;  // cannot happen while booting; kept for symmetry
      return;
    }
    Write();
  }

  void DoRead() {
    ws_.async_read(rbuf_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (state_ == State::kClosing || state_ == State::kDone) return Done();
      return Fail(&Stats::closed, "connection lost: " + ec.message());
    }
    auto data = rbuf_.cdata();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (text.rfind("[2,", 0) == 0 && (state_ == State::kRunning || state_ == State::kReady)) {
      OnCsmsCall(text);
    } else if (state_ == State::kRunning || (state_ == State::kReady && sent_was_extra_)) {
      OnCallReply(text);
    } else if (state_ == State::kBooting) {
      OnBootReply(text);
    } else if (state_ == State::kReady) {
      ++stats_.unexpected;
      bench_.NoteError("unexpected frame while idle: " + std::string(text.substr(0, 200)));
    }  // kClosing: late replies are dropped
    rbuf_.consume(rbuf_.size());
    if (state_ != State::kDone) DoRead();
  }

  // Matches `[3,"<id>"` (result) or `[4,"<id>"` (error) for the outstanding CALL; 0 otherwise.
  char ReplyKind(std::string_view text) const {
    if (!waiting_reply_ || text.size() <= expect_.size()) return 0;
    char kind = text[1];
    if (text[0] != '[' || (kind != '3' && kind != '4')) return 0;
    if (std::memcmp(text.data() + 2, expect_.data() + 2, expect_.size() - 2) != 0) return 0;
    return kind;
  }

  void OnBootReply(std::string_view text) {
    int64_t now = NowNs();
    char kind = ReplyKind(text);
    if (kind == 0) {
      ++stats_.unexpected;
      bench_.NoteError("unexpected frame while booting: " + std::string(text.substr(0, 200)));
      return;
    }
    waiting_reply_ = false;
    auto reply = nlohmann::json::parse(text, nullptr, false);
    std::string status;
    if (kind == '3' && reply.is_array() && reply.size() == 3 && reply[2].is_object()) {
      status = reply[2].value("status", "");
    }
    if (status == "Pending") {
      // OCPP: the station repeats BootNotification after `interval` seconds.
      ++stats_.boot_pending;
      int interval = std::max(reply[2].value("interval", 1), 1);
      timer_.expires_after(std::chrono::seconds(interval));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->state_ != State::kBooting) return;
        self->SendBoot();
      });
      return;
    }
    if (status != "Accepted") {
      ++stats_.boot_errors;
      bench_.NoteError("BootNotification not accepted: " + std::string(text.substr(0, 200)));
      ReportSetup(false);
      state_ = State::kClosing;
      if (writing_) {
        close_after_write_ = true;
      } else {
        DoClose();
      }
      return;
    }
    if (bench_.options().mode == Mode::kStorm) {
      // Connect start -> boot accepted.
      stats_.latency_us.push_back(static_cast<uint32_t>((now - start_ns_) / 1000));
    }
    state_ = State::kReady;
    ReportSetup(true);
    Mode mode = bench_.options().mode;
    if ((mode == Mode::kHeartbeat || mode == Mode::kTransactions) && bench_.options().rate <= 0) {
      state_ = State::kRunning;  // closed loop starts at once; warmup covers the ramp
      ScheduleNext();
    }
  }

  void OnCallReply(std::string_view text) {
    int64_t now = NowNs();
    char kind = ReplyKind(text);
    if (kind == 0) {
      ++stats_.unexpected;
      bench_.NoteError("unexpected frame: " + std::string(text.substr(0, 200)));
      return;  // still waiting for the real reply
    }
    waiting_reply_ = false;
    if (sent_was_extra_) {
      // The station's own TransactionEvent after a remote start/stop, or a report part: not
      // part of the mix.
      sent_was_extra_ = false;
      if (sent_was_report_part_) {
        sent_was_report_part_ = false;
        OnReportPartReply(kind, text, now);
      } else if (kind != '3') {
        ++stats_.call_errors;
        bench_.NoteError("CALLERROR to a remote-start event: " + std::string(text.substr(0, 200)));
      }
      if (!extra_calls_.empty()) return SendExtraCall();
      if (state_ == State::kRunning && now < bench_.measure_end_ns()) ScheduleNext();
      return;
    }
    if (!extra_calls_.empty()) {
      // A remote start/stop is waiting for its event; it goes before the next CALL of the mix.
      CountReply(kind, text, now);
      return SendExtraCall();
    }
    CountReply(kind, text, now);
    if (now >= bench_.measure_end_ns()) return;  // Stop() closes
    ScheduleNext();
  }

  // The CALLRESULT (or CALLERROR) of a NotifyReport part: queues the next part (ahead of any
  // other extra CALL) or completes the report. A CALLERROR abandons the report.
  void OnReportPartReply(char kind, std::string_view text, int64_t now) {
    if (kind != '3') {
      ++stats_.call_errors;
      ++stats_.reports_failed;
      report_active_ = false;
      bench_.NoteError("CALLERROR to NotifyReport: " + std::string(text.substr(0, 200)));
      return;
    }
    ++stats_.report_parts;
    stats_.part_us.push_back(
        static_cast<uint32_t>(std::max<int64_t>(0, now - part_sent_ns_) / 1000));
    const auto& parts = bench_.report_parts();
    if (++report_seq_ < parts.size()) {
      extra_calls_.insert(
          extra_calls_.begin(),
          {NotifyReportFrame(parts, report_request_id_, report_generated_at_, report_seq_), true});
      return;
    }
    report_active_ = false;
    ++stats_.reports_completed;
    stats_.report_us.push_back(static_cast<uint32_t>(
        std::min<int64_t>((now - report_start_ns_) / 1000, std::numeric_limits<uint32_t>::max())));
    bench_.OnReportComplete(now);
  }

  void CountReply(char kind, std::string_view text, int64_t now) {
    if (kind == '3') {
      if (now >= bench_.measure_start_ns() && now < bench_.measure_end_ns()) {
        ++stats_.calls;
        if (sent_was_ended_) ++stats_.transactions;
        if (bench_.options().authorize_tokens > 0 &&
            text.find(R"("status":"Accepted")") == std::string_view::npos) {
          ++stats_.not_accepted;
        }
        // A negative span would wrap to ~71 minutes as uint32; it can only come from this
        // program's own bookkeeping (seen once with remote starts interleaved), so it is
        // counted apart instead of poisoning the percentiles.
        if (now < sent_ns_) {
          ++stats_.negative_latency;
        } else {
          stats_.latency_us.push_back(static_cast<uint32_t>(
              std::min<int64_t>((now - sent_ns_) / 1000, std::numeric_limits<uint32_t>::max())));
        }
      }
    } else {
      ++stats_.call_errors;
      bench_.NoteError("CALLERROR: " + std::string(text.substr(0, 200)));
    }
  }

  // A CALL from the CSMS: RequestStartTransaction / RequestStopTransaction are accepted and
  // followed by the TransactionEvent a station sends; with --answer-reports GetBaseReport and
  // GetReport are accepted and followed by the report's NotifyReport parts (Rejected while a
  // report is still going out); anything else is NotImplemented.
  void OnCsmsCall(std::string_view text) {
    auto call = nlohmann::json::parse(text, nullptr, false);
    if (!call.is_array() || call.size() != 4 || !call[1].is_string() || !call[2].is_string() ||
        !call[3].is_object()) {
      ++stats_.unexpected;
      bench_.NoteError("malformed CALL from the CSMS: " + std::string(text.substr(0, 200)));
      return;
    }
    ++stats_.csms_calls;
    const std::string message_id = call[1].get<std::string>();
    const std::string action = call[2].get<std::string>();
    const nlohmann::json& payload = call[3];
    nlohmann::json reply = {3, message_id, {{"status", "Accepted"}}};
    std::string ts(UtcNow());
    if (action == "RequestStartTransaction") {
      remote_tx_ = id_ + "-rs-" + std::to_string(payload.value("remoteStartId", 0));
      // No transactionId in the answer: that would say a transaction was already running
      // (F01.FR.13), and the CSMS would not wait for this Started event.
      nlohmann::json event = {
          {"eventType", "Started"},
          {"timestamp", ts},
          {"triggerReason", "RemoteStart"},
          {"seqNo", 0},
          {"transactionInfo",
           {{"transactionId", remote_tx_},
            {"chargingState", "Charging"},
            {"remoteStartId", payload.value("remoteStartId", 0)}}},
          {"evse", {{"id", payload.value("evseId", 1)}, {"connectorId", 1}}},
          {"idToken",
           payload.value("idToken", nlohmann::json{{"idToken", "bench"}, {"type", "Central"}})},
          {"meterValue",
           {{{"timestamp", ts},
             {"sampledValue",
              {{{"value", 0.0},
                {"measurand", "Energy.Active.Import.Register"},
                {"context", "Transaction.Begin"},
                {"unitOfMeasure", {{"unit", "Wh"}}}}}}}}}};
      extra_calls_.push_back({R"(","TransactionEvent",)" + event.dump() + "]"});
    } else if (action == "RequestStopTransaction") {
      nlohmann::json event = {{"eventType", "Ended"},
                              {"timestamp", ts},
                              {"triggerReason", "RemoteStop"},
                              {"seqNo", 1},
                              {"transactionInfo",
                               {{"transactionId", payload.value("transactionId", remote_tx_)},
                                {"stoppedReason", "Remote"}}},
                              {"meterValue",
                               {{{"timestamp", ts},
                                 {"sampledValue",
                                  {{{"value", 1500.0},
                                    {"measurand", "Energy.Active.Import.Register"},
                                    {"context", "Transaction.End"},
                                    {"unitOfMeasure", {{"unit", "Wh"}}}}}}}}}};
      extra_calls_.push_back({R"(","TransactionEvent",)" + event.dump() + "]"});
    } else if ((action == "GetBaseReport" || action == "GetReport") &&
               bench_.options().answer_reports) {
      if (report_active_) {
        ++stats_.reports_rejected;
        reply[2]["status"] = "Rejected";
      } else {
        ++stats_.reports_requested;
        report_active_ = true;
        report_request_id_ = payload.value("requestId", int64_t{0});
        report_seq_ = 0;
        report_generated_at_ = ts;
        report_start_ns_ = NowNs();
        extra_calls_.push_back(
            {NotifyReportFrame(bench_.report_parts(), report_request_id_, report_generated_at_, 0),
             true});
      }
    } else {
      reply = {4, message_id, "NotImplemented",
               bench_.options().answer_reports
                   ? "csms-loadgen answers only remote start/stop and reports"
                   : "csms-loadgen answers only remote start/stop",
               nlohmann::json::object()};
    }
    QueueReply(reply.dump());
    if (!waiting_reply_ && !extra_calls_.empty()) SendExtraCall();
  }

  // Sends the first queued remote-start/stop event or report part as this connection's
  // outstanding CALL.
  void SendExtraCall() {
    std::string id = std::to_string(next_id_++);
    std::string frame = R"([2,")" + id + extra_calls_.front().frame;
    sent_was_report_part_ = extra_calls_.front().report_part;
    extra_calls_.erase(extra_calls_.begin());
    expect_ = R"([3,")" + id + R"(")";
    waiting_reply_ = true;
    sent_was_extra_ = true;
    if (sent_was_report_part_) part_sent_ns_ = NowNs();
    if (writing_) {
      replies_.push_back(std::move(frame));  // goes out right after the current write
    } else {
      wbuf_ = std::move(frame);
      Write();
    }
  }

  void QueueReply(std::string frame) {
    if (writing_) {
      replies_.push_back(std::move(frame));
    } else {
      wbuf_ = std::move(frame);
      Write();
    }
  }

  // Sends the next CALL now (closed loop) or at its scheduled time (open loop).
  void ScheduleNext() {
    if (interval_ns_ <= 0) {
      sched_ns_ = 0;
      return SendOrDefer();
    }
    int64_t now = NowNs();
    if (next_sched_ns_ >= bench_.measure_end_ns()) return;
    if (next_sched_ns_ <= now) {
      if (sent_call_) ++stats_.late;  // the previous reply came after this CALL's slot
      sched_ns_ = next_sched_ns_;
      next_sched_ns_ += interval_ns_;
      return SendOrDefer();
    }
    timer_.expires_at(SteadyClock::time_point(std::chrono::nanoseconds(next_sched_ns_)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->state_ != State::kRunning || self->waiting_reply_) return;
      self->sched_ns_ = self->next_sched_ns_;
      self->next_sched_ns_ += self->interval_ns_;
      self->SendOrDefer();
    });
  }

  void SendOrDefer() {
    if (waiting_reply_) return;  // a remote-start event is out; its reply resumes the mix
    if (writing_) {
      send_after_write_ = true;
    } else {
      SendCall();
    }
  }

  void SendCall() {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), next_id_++).ptr;
    std::string_view id(digits, static_cast<size_t>(end - digits));
    wbuf_.assign(R"([2,")");
    wbuf_.append(id);
    sent_call_ = true;
    sent_was_ended_ = false;
    if (bench_.options().mode == Mode::kTransactions) {
      AppendTransactionEvent();
    } else if (const int tokens = bench_.options().authorize_tokens; tokens > 0) {
      char body[96];
      int n =
          std::snprintf(body, sizeof(body),
                        R"(","Authorize",{"idToken":{"idToken":"BENCH%08u","type":"ISO14443"}}])",
                        static_cast<unsigned>(random_() % static_cast<uint64_t>(tokens)));
      wbuf_.append(body, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof(body) - 1))));
    } else {
      wbuf_.append(R"(","Heartbeat",{}])");
    }
    expect_.assign(R"([3,")");
    expect_.append(id);
    expect_.push_back('"');
    waiting_reply_ = true;
    sent_ns_ = sched_ns_ > 0 ? sched_ns_ : NowNs();
    Write();
  }

  // `","TransactionEvent",{...}]` for seq_ of the current cycle, then advances the cycle.
  void AppendTransactionEvent() {
    const int k = bench_.options().tx_updates;
    const char* type = seq_ == 0 ? "Started" : seq_ <= k ? "Updated" : "Ended";
    const char* trigger = seq_ == 0   ? "RemoteStart"
                          : seq_ <= k ? "MeterValuePeriodic"
                                      : "RemoteStop";
    const char* context = seq_ == 0   ? "Transaction.Begin"
                          : seq_ <= k ? "Sample.Periodic"
                                      : "Transaction.End";
    std::string_view ts = UtcNow();
    std::string tx = id_ + "-" + bench_.run_tag() + "-" + std::to_string(cycle_);
    double energy = 1000.0 * seq_;  // Wh, increasing within the transaction
    char body[768];
    int n = std::snprintf(
        body, sizeof(body),
        R"(","TransactionEvent",{"eventType":"%s","timestamp":"%.*s","triggerReason":"%s",)"
        R"("seqNo":%d,"transactionInfo":{"transactionId":"%s",%s},)"
        R"("meterValue":[{"timestamp":"%.*s","sampledValue":[{"value":%.1f,)"
        R"("measurand":"Energy.Active.Import.Register","context":"%s",)"
        R"("unitOfMeasure":{"unit":"Wh"}}]}]%s}])",
        type, static_cast<int>(ts.size()), ts.data(), trigger, seq_, tx.c_str(),
        seq_ <= k ? R"("chargingState":"Charging")" : R"("stoppedReason":"Remote")",
        static_cast<int>(ts.size()), ts.data(), energy, context,
        seq_ == 0
            ? R"(,"evse":{"id":1,"connectorId":1},"idToken":{"idToken":"user_123","type":"Central"})"
            : "");
    wbuf_.append(body, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof(body) - 1))));
    if (seq_ > k) {
      sent_was_ended_ = true;
      seq_ = 0;
      ++cycle_;
    } else {
      ++seq_;
    }
  }

  void Write() {
    writing_ = true;
    ws_.async_write(net::buffer(wbuf_), [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    writing_ = false;
    if (ec) return;  // the read side reports the failure
    if (close_after_write_) {
      close_after_write_ = false;
      return DoClose();
    }
    if (!replies_.empty()) {
      wbuf_ = std::move(replies_.front());
      replies_.erase(replies_.begin());
      return Write();
    }
    if (send_after_write_ && state_ == State::kRunning) {
      send_after_write_ = false;
      // A remote-start event that went out meanwhile is the outstanding CALL; its reply
      // resumes the mix.
      if (!waiting_reply_) SendCall();
    }
  }

  void DoClose() {
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code ec) {
                      if (ec) beast::get_lowest_layer(self->ws_).close();
                      self->Done();
                    });
  }

  void Fail(uint64_t Stats::*counter, const std::string& message) {
    if (state_ == State::kDone || state_ == State::kClosing) return;
    ++(stats_.*counter);
    bench_.NoteError(id_ + ": " + message);
    ReportSetup(false);
    timer_.cancel();
    beast::get_lowest_layer(ws_).close();
    Done();
  }

  void ReportSetup(bool ok) {
    if (setup_reported_) return;
    setup_reported_ = true;
    bench_.OnSetupDone(ok);
  }

  void Done() {
    if (state_ == State::kDone) return;
    state_ = State::kDone;
    bench_.OnConnectionDone();
  }

  Ws ws_;
  net::steady_timer timer_;
  std::shared_ptr<ssl::context> tls_;  // wss:// only
  Bench& bench_;
  int index_;
  std::string id_;
  std::string target_;
  std::string authorization_;  // "Basic …" when --password is set
  websocket::response_type response_;
  beast::flat_buffer rbuf_;
  std::string wbuf_;
  std::string expect_;                               // `[3,"<id>"` of the outstanding CALL
  std::minstd_rand random_{std::random_device{}()};  // which token an Authorize names
  uint64_t next_id_ = 1;
  int64_t start_ns_ = 0;
  int64_t tcp_done_ns_ = 0;
  int64_t sent_ns_ = 0;        // latency origin of the outstanding CALL
  int64_t sched_ns_ = 0;       // open loop: scheduled time of the CALL about to go out
  int64_t next_sched_ns_ = 0;  // open loop: next slot
  int64_t interval_ns_ = 0;    // open loop: slot spacing; 0 = closed loop
  int seq_ = 0;
  uint64_t cycle_ = 0;
  bool sent_was_ended_ = false;
  bool sent_was_extra_ = false;  // the outstanding CALL is a remote start/stop event or a part
  struct ExtraCall {
    std::string frame;  // what follows `[2,"<id>`
    bool report_part = false;
  };
  std::vector<ExtraCall> extra_calls_;  // those CALLs, waiting for the outstanding CALL
  // --answer-reports: the report going out, one part at a time.
  bool report_active_ = false;
  bool sent_was_report_part_ = false;
  int64_t report_request_id_ = 0;
  size_t report_seq_ = 0;  // the part sent last
  std::string report_generated_at_;
  int64_t report_start_ns_ = 0;  // GetBaseReport / GetReport received
  int64_t part_sent_ns_ = 0;
  std::vector<std::string> replies_;  // frames waiting for the current write
  std::string remote_tx_;
  bool sent_call_ = false;  // a CALL after the boot went out
  State state_ = State::kIdle;
  bool waiting_reply_ = false;
  bool writing_ = false;
  bool send_after_write_ = false;
  bool close_after_write_ = false;
  bool setup_reported_ = false;
  Stats stats_;
};

void Bench::OnSetupDone(bool ok) {
  net::post(ctl_, [this, ok] {
    ++setup_done_;
    if (ok) ++ready_;
    if (setup_done_ == options_.connections && !phase_started_) StartPhase();
  });
}

void Bench::OnConnectionDone() {
  net::post(ctl_, [this] {
    ++done_;
    if (done_ == options_.connections) {
      setup_timer_.cancel();
      phase_timer_.cancel();
      grace_timer_.cancel();
      sample_timer_.cancel();
      report_timer_.cancel();
      awaiting_reports_ = false;
      if (!finishing_) {
        // Everything failed or closed before the end; nothing more can happen.
        finishing_ = true;
        measure_end_ns_ = std::min(measure_end_ns_.load(), NowNs());
      }
    }
  });
}

void Bench::OnReportComplete(int64_t now_ns) {
  net::post(ctl_, [this, now_ns] {
    ++reports_done_;
    last_report_ns_ = std::max(last_report_ns_, now_ns);
    if (awaiting_reports_ && reports_done_ >= ready_) {
      awaiting_reports_ = false;
      report_timer_.cancel();
      Finish();
    }
  });
}

void Bench::AwaitReports() {
  if (reports_done_ >= ready_) return Finish();
  awaiting_reports_ = true;
  report_timer_.expires_after(
      std::chrono::milliseconds(static_cast<int64_t>(options_.report_timeout_seconds * 1000)));
  report_timer_.async_wait([this](beast::error_code ec) {
    if (ec || !awaiting_reports_) return;
    awaiting_reports_ = false;
    NoteError("only " + std::to_string(reports_done_) + " of " + std::to_string(ready_) +
              " reports complete within --report-timeout");
    Finish();
  });
}

void Bench::NoteError(const std::string& message) {
  std::lock_guard lock(errors_mu_);
  if (first_errors_.size() < 5) {
    first_errors_.push_back(message);
  } else {
    ++suppressed_errors_;
  }
}

void Bench::NoteTls(SSL* ssl) {
  std::lock_guard lock(errors_mu_);
  if (!tls_info_.empty()) return;
  std::string key = "?";
  if (X509* cert = SSL_get0_peer_certificate(ssl)) {
    EVP_PKEY* pkey = X509_get0_pubkey(cert);
    if (pkey != nullptr) {
      key = std::string(EVP_PKEY_get0_type_name(pkey)) + " " +
            std::to_string(EVP_PKEY_get_bits(pkey));
    }
  }
  tls_info_ = {{"version", SSL_get_version(ssl)},
               {"cipher", SSL_get_cipher_name(ssl)},
               {"server_key", key},
               {"client_certificate", SSL_get_certificate(ssl) != nullptr}};
}

void Bench::SampleRss() {
  for (size_t i = 0; i < options_.server_pids.size(); ++i) {
    rss_max_[i] = std::max(rss_max_[i], RssKib(options_.server_pids[i]));
  }
  sample_timer_.expires_after(std::chrono::seconds(1));
  sample_timer_.async_wait([this](beast::error_code ec) {
    if (!ec && !finishing_) SampleRss();
  });
}

void Bench::StartPhase() {
  phase_started_ = true;
  setup_timer_.cancel();
  ramp_timer_.cancel();
  setup_end_ns_ = NowNs();
  for (int pid : options_.server_pids) rss_booted_.push_back(RssKib(pid));
  if (ready_ == 0 || options_.mode == Mode::kStorm) {
    measure_start_ns_ = run_start_ns_;
    measure_end_ns_ = setup_end_ns_;
    for (auto& c : connections_) net::post(c->executor(), [c] { c->AbortSetup(); });
    if (options_.mode == Mode::kStorm && options_.answer_reports && ready_ > 0) {
      return AwaitReports();
    }
    return Finish();
  }
  for (auto& c : connections_) net::post(c->executor(), [c] { c->AbortSetup(); });
  double warmup_s = options_.mode == Mode::kIdle ? 0 : options_.warmup_seconds;
  auto warmup = std::chrono::nanoseconds(static_cast<int64_t>(warmup_s * 1e9));
  auto measured = std::chrono::nanoseconds(static_cast<int64_t>(options_.seconds * 1e9));
  measure_start_ns_ = setup_end_ns_ + warmup.count();
  measure_end_ns_ = setup_end_ns_ + warmup.count() + measured.count();
  if (options_.mode == Mode::kIdle) {
    SampleRss();
  } else if (options_.rate > 0) {
    // Each connection gets rate/N per second; start slots are spread over one interval.
    auto n = static_cast<int64_t>(connections_.size());
    auto interval = static_cast<int64_t>(1e9 * static_cast<double>(n) / options_.rate);
    for (int64_t i = 0; i < n; ++i) {
      int64_t first = setup_end_ns_ + interval * i / n;
      auto c = connections_[static_cast<size_t>(i)];
      net::post(c->executor(), [c, first, interval] { c->Begin(first, interval); });
    }
  }
  phase_timer_.expires_after(warmup + measured);
  phase_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) Finish();
  });
}

void Bench::Finish() {
  if (finishing_) return;
  finishing_ = true;
  sample_timer_.cancel();
  for (auto& c : connections_) net::post(c->executor(), [c] { c->Stop(); });
  grace_timer_.expires_after(kCloseGrace);
  grace_timer_.async_wait([this](beast::error_code ec) {
    if (ec) return;
    for (auto& c : connections_) net::post(c->executor(), [c] { c->ForceClose(); });
  });
}

void Bench::StartConnections(size_t first) {
  constexpr auto kRampStep = std::chrono::milliseconds(10);
  size_t end = connections_.size();
  if (options_.connect_rate > 0) {
    // Due by now: rate × elapsed, so a slow tick catches up instead of drifting.
    double elapsed_s = static_cast<double>(NowNs() - run_start_ns_) / 1e9;
    size_t due = static_cast<size_t>(options_.connect_rate * elapsed_s) + 1;
    end = std::min(end, std::max(first + 1, due));
  }
  for (size_t i = first; i < end; ++i) {
    auto c = connections_[i];
    net::post(c->executor(), [c] { c->Start(); });
  }
  if (end == connections_.size()) return;
  ramp_timer_.expires_after(kRampStep);
  ramp_timer_.async_wait([this, end](beast::error_code ec) {
    if (!ec) StartConnections(end);
  });
}

nlohmann::json Bench::RestCall(beast::tcp_stream& stream, http::verb verb,
                               const std::string& target, const nlohmann::json& body, bool* ok) {
  *ok = false;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, options_.rest_host + ":" + options_.rest_port);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = body.dump();
  req.prepare_payload();
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(40));  // the CSMS waits up to 30 s for the charger
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) return "transport: " + ec.message();
  auto parsed = nlohmann::json::parse(res.body(), nullptr, false);
  if (res.result() != http::status::ok || !parsed.is_object()) {
    return "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200);
  }
  *ok = true;
  return parsed;
}

void Bench::RunRemoteStarts() {
  // Wait for the measured window (warmup excluded).
  while (!stopping_ && NowNs() < measure_start_ns()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  net::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(options_.rest_host, options_.rest_port, ec);
  if (!ec) stream.connect(endpoints, ec);
  if (ec) {
    ++rest_errors_;
    NoteError("REST connect: " + ec.message());
    return;
  }
  // A pair that straddles the end would meet chargers already closing; leave it out.
  constexpr int64_t kPairMarginNs = 3'000'000'000;
  for (int n = 0; !stopping_ && NowNs() < measure_end_ns() - kPairMarginNs; ++n) {
    if (options_.remote_starts > 0 && n >= options_.remote_starts) break;
    // Spread over the chargers, never the same one twice in a row.
    const std::string charger =
        options_.id_prefix +
        std::to_string((static_cast<int64_t>(n) * 7919) % options_.connections);
    bool ok = false;
    int64_t t0 = NowNs();
    auto started = RestCall(stream, http::verb::post, "/chargers/" + charger + "/start",
                            {{"id_token", "bench"}, {"evse_id", 1}, {"connector_id", 1}}, &ok);
    int64_t t1 = NowNs();
    if (!ok || !started.value("transaction_id", nlohmann::json()).is_string()) {
      ++rest_errors_;
      NoteError("REST start " + charger + ": " +
                (ok ? started.dump() : started.get<std::string>()));
      if (!ok && started.get<std::string>().rfind("transport", 0) == 0) return;
      continue;
    }
    rest_start_us_.push_back(static_cast<uint32_t>((t1 - t0) / 1000));
    auto stopped =
        RestCall(stream, http::verb::post, "/chargers/" + charger + "/stop",
                 {{"transaction_id", started["transaction_id"].get<std::string>()}}, &ok);
    int64_t t2 = NowNs();
    if (!ok) {
      ++rest_errors_;
      NoteError("REST stop " + charger + ": " + stopped.get<std::string>());
      if (stopped.get<std::string>().rfind("transport", 0) == 0) return;
      continue;
    }
    rest_stop_us_.push_back(static_cast<uint32_t>((t2 - t1) / 1000));
  }
}

int Bench::Run() {
  run_tag_ = std::to_string(std::time(nullptr));
  for (int pid : options_.server_pids) {
    rss_before_.push_back(RssKib(pid));
    rss_max_.push_back(rss_before_.back());
  }
  run_start_ns_ = NowNs();
  beast::error_code ec;
  tcp::resolver resolver(io_);
  auto results = resolver.resolve(options_.host, options_.port, ec);
  if (ec || results.empty()) {
    NoteError("resolve " + options_.host + ":" + options_.port + ": " + ec.message());
    connections_.clear();
    setup_end_ns_ = NowNs();
    measure_start_ns_ = measure_end_ns_ = setup_end_ns_;
    return Report(0);
  }
  endpoint_ = results.begin()->endpoint();
  for (const auto& r : results) {
    // --source-ips binds to 127.0.0.x, which needs an IPv4 destination.
    if (r.endpoint().address().is_v4()) {
      endpoint_ = r.endpoint();
      break;
    }
  }

  // wss: one TLS context for all, or one per connection when the client certificate path has
  // "{id}" in it. Loaded before anything connects, so a bad file ends the run at once.
  std::shared_ptr<ssl::context> shared_tls;
  const bool per_id = options_.client_cert.find("{id}") != std::string::npos ||
                      options_.client_key.find("{id}") != std::string::npos;
  std::string tls_error;
  if (options_.tls && !per_id) {
    shared_tls = MakeStationTlsContext(
        {options_.ca_file, options_.client_cert, options_.client_key, options_.tls_sigalgs},
        &tls_error);
  }
  connections_.reserve(static_cast<size_t>(options_.connections));
  for (int i = 0; i < options_.connections && tls_error.empty(); ++i) {
    net::any_io_executor executor = options_.threads > 1
                                        ? net::any_io_executor(net::make_strand(io_))
                                        : net::any_io_executor(io_.get_executor());
    std::string id = options_.id_prefix + std::to_string(i);
    if (!options_.tls) {
      connections_.push_back(
          std::make_shared<ConnectionImpl<PlainWs>>(executor, *this, i, id, nullptr));
      continue;
    }
    auto tls = shared_tls;
    if (per_id) {
      tls = MakeStationTlsContext(
          {options_.ca_file, csms::sim::ExpandIdPlaceholder(options_.client_cert, id),
           csms::sim::ExpandIdPlaceholder(options_.client_key, id), options_.tls_sigalgs},
          &tls_error);
      if (!tls) break;
    }
    connections_.push_back(std::make_shared<ConnectionImpl<TlsWs>>(executor, *this, i, id, tls));
  }
  if (!tls_error.empty()) {
    NoteError(tls_error);
    connections_.clear();
    setup_end_ns_ = NowNs();
    measure_start_ns_ = measure_end_ns_ = setup_end_ns_;
    return Report(0);
  }
  net::post(ctl_, [this] {
    setup_timer_.expires_after(
        std::chrono::milliseconds(static_cast<int64_t>(options_.setup_timeout_seconds * 1000)));
    setup_timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !phase_started_) StartPhase();
    });
    run_start_ns_ = NowNs();
    StartConnections(0);
  });

  std::thread rest;
  if (!options_.rest_host.empty()) rest = std::thread([this] { RunRemoteStarts(); });
  std::vector<std::thread> extra;
  for (int i = 1; i < options_.threads; ++i) extra.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : extra) t.join();
  stopping_ = true;
  if (rest.joinable()) rest.join();
  return Report(static_cast<double>(setup_end_ns_ - run_start_ns_) / 1e9);
}

int Bench::Report(double setup_seconds) {
  Stats total;
  if (connections_.empty()) total.connect_errors = static_cast<uint64_t>(options_.connections);
  size_t samples = 0;
  for (auto& c : connections_) samples += c->stats().latency_us.size();
  total.latency_us.reserve(samples);
  for (auto& c : connections_) {
    const Stats& s = c->stats();
    total.connect_us.insert(total.connect_us.end(), s.connect_us.begin(), s.connect_us.end());
    total.tls_us.insert(total.tls_us.end(), s.tls_us.begin(), s.tls_us.end());
    total.calls += s.calls;
    total.transactions += s.transactions;
    total.latency_us.insert(total.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    total.connect_errors += s.connect_errors;
    total.boot_errors += s.boot_errors;
    total.call_errors += s.call_errors;
    total.not_accepted += s.not_accepted;
    total.unexpected += s.unexpected;
    total.closed += s.closed;
    total.stalled += s.stalled;
    total.late += s.late;
    total.boot_pending += s.boot_pending;
    total.csms_calls += s.csms_calls;
    total.negative_latency += s.negative_latency;
    total.reports_requested += s.reports_requested;
    total.reports_rejected += s.reports_rejected;
    total.reports_failed += s.reports_failed;
    total.reports_completed += s.reports_completed;
    total.report_parts += s.report_parts;
    total.report_us.insert(total.report_us.end(), s.report_us.begin(), s.report_us.end());
    total.part_us.insert(total.part_us.end(), s.part_us.begin(), s.part_us.end());
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  auto percentile_ms = [&](double p) -> double {
    if (total.latency_us.empty()) return 0;
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(total.latency_us.size())));
    double us = total.latency_us[std::clamp<size_t>(rank, 1, total.latency_us.size()) - 1];
    return std::round(us) / 1000;
  };
  double window = static_cast<double>(measure_end_ns_ - measure_start_ns_) / 1e9;
  uint64_t counted = options_.mode == Mode::kStorm ? static_cast<uint64_t>(ready_) : total.calls;
  double rate = window > 0 ? static_cast<double>(counted) / window : 0;
  uint64_t errors = total.connect_errors + total.boot_errors + total.call_errors +
                    total.unexpected + total.closed + rest_errors_;

  std::vector<int64_t> rss_end;
  for (int pid : options_.server_pids) rss_end.push_back(RssKib(pid));
  nlohmann::ordered_json rss = nlohmann::json::array();
  for (size_t i = 0; i < options_.server_pids.size(); ++i) {
    nlohmann::ordered_json r = {{"pid", options_.server_pids[i]},
                                {"before_kib", rss_before_[i]},
                                {"booted_kib", i < rss_booted_.size() ? rss_booted_[i] : -1},
                                {"max_kib", std::max(rss_max_[i], rss_end[i])},
                                {"end_kib", rss_end[i]}};
    if (ready_ > 0 && i < rss_booted_.size()) {
      // Idle: the RSS held at the end of the hold, per connection that booted.
      int64_t after = options_.mode == Mode::kIdle ? rss_end[i] : rss_booted_[i];
      r["per_connection_kib"] =
          std::round(static_cast<double>(after - rss_before_[i]) / ready_ * 100) / 100;
    }
    rss.push_back(r);
  }
  double lat_max = total.latency_us.empty() ? 0.0 : total.latency_us.back() / 1000.0;
  nlohmann::ordered_json out = {
      {"mode", ModeName(options_.mode)},
      {"connections", options_.connections},
      {"ready", ready_},
      {"rate", options_.rate},
      {"threads", options_.threads},
      {"source_ips", options_.source_ips},
      {"seconds", options_.seconds},
      {"warmup_seconds", options_.warmup_seconds},
      {"setup_seconds", std::round(setup_seconds * 1000) / 1000},
      {"calls", total.calls},
      {"msg_per_s", std::round(rate * 10) / 10},
      {"latency_ms",
       {{"p50", percentile_ms(0.5)},
        {"p99", percentile_ms(0.99)},
        {"p99_9", percentile_ms(0.999)},
        {"max", lat_max}}},
      {"errors", errors},
      {"error_detail",
       {{"connect", total.connect_errors},
        {"boot", total.boot_errors},
        {"call_error", total.call_errors},
        {"unexpected", total.unexpected},
        {"closed", total.closed}}},
      {"stalled", total.stalled},
      {"late", total.late},
      {"boot_pending", total.boot_pending},
      {"authorize_not_accepted", total.not_accepted},
      {"negative_latency", total.negative_latency},
      {"rss", rss},
      // Connect start -> WebSocket open, per connection (TCP, TLS, the upgrade and the CSMS's
      // station authentication); with --connect-rate 0 this is under a storm.
      {"connect_ms", LatencySummary(total.connect_us)},
  };
  if (options_.tls) {
    out["tls_handshake_ms"] = LatencySummary(total.tls_us);
    std::lock_guard lock(errors_mu_);
    out["tls"] = tls_info_;
  }
  if (options_.mode == Mode::kTransactions) {
    out["transactions"] = total.transactions;
    out["tx_per_s"] = window > 0 ? std::round(total.transactions / window * 10) / 10 : 0;
    out["tx_updates"] = options_.tx_updates;
  }
  if (!options_.rest_host.empty()) {
    // Round trip of POST /chargers/{id}/start (until the station's Started event reached the
    // CSMS) and of POST /chargers/{id}/stop (until Ended was billed), sequential.
    out["remote_start"] = {
        {"starts", rest_start_us_.size()}, {"start_ms", LatencySummary(rest_start_us_)},
        {"stops", rest_stop_us_.size()},   {"stop_ms", LatencySummary(rest_stop_us_)},
        {"errors", rest_errors_},          {"csms_calls_answered", total.csms_calls}};
  }
  const bool await_reports = options_.mode == Mode::kStorm && options_.answer_reports;
  if (options_.answer_reports) {
    // Completed: the last part's CALLRESULT came, which the gateway sends only once control has
    // stored the part. Times are from the start of the run (the first connect).
    out["reports"] = {
        {"requested", total.reports_requested},
        {"completed", total.reports_completed},
        {"rejected", total.reports_rejected},
        {"failed", total.reports_failed},
        {"parts", total.report_parts},
        {"variables_per_report", options_.report_variables},
        {"items_per_part", options_.report_items_per_part},
        {"parts_per_report", report_parts_.size()},
        {"last_completed_s",
         last_report_ns_ > 0
             ? std::round(static_cast<double>(last_report_ns_ - run_start_ns_) / 1e6) / 1000
             : 0.0},
        {"report_ms", LatencySummary(total.report_us)},
        {"part_ms", LatencySummary(total.part_us)}};
  }
  std::cout << out.dump() << std::endl;

  {
    std::lock_guard lock(errors_mu_);
    for (const auto& e : first_errors_) std::cerr << "error: " << e << "\n";
    if (suppressed_errors_ > 0) std::cerr << "(" << suppressed_errors_ << " more errors)\n";
  }
  std::fprintf(stderr,
               "%s: %d connections (%d ready in %.2f s), rate %.0f, %.0f msg/s, p50 %.2f ms, "
               "p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, errors %llu",
               ModeName(options_.mode), options_.connections, ready_, setup_seconds, options_.rate,
               rate, percentile_ms(0.5), percentile_ms(0.99), percentile_ms(0.999), lat_max,
               static_cast<unsigned long long>(errors));
  if (total.boot_pending > 0) {
    std::fprintf(stderr, ", boot pending %llu", (unsigned long long)total.boot_pending);
  }
  if (total.late > 0) std::fprintf(stderr, ", late %llu", (unsigned long long)total.late);
  if (total.stalled > 0) std::fprintf(stderr, ", stalled %llu", (unsigned long long)total.stalled);
  if (options_.tls) {
    std::fprintf(stderr, ", TLS handshake p50 %.2f ms p99 %.2f ms",
                 out["tls_handshake_ms"]["p50"].get<double>(),
                 out["tls_handshake_ms"]["p99"].get<double>());
    if (out["tls"].contains("version")) {
      std::fprintf(stderr, " (%s %s, server key %s)",
                   out["tls"]["version"].get<std::string>().c_str(),
                   out["tls"]["cipher"].get<std::string>().c_str(),
                   out["tls"]["server_key"].get<std::string>().c_str());
    }
  }
  for (const auto& r : rss) {
    std::fprintf(stderr, ", rss[%d] %lld KiB", r["pid"].get<int>(),
                 static_cast<long long>(r["end_kib"].get<int64_t>()));
    if (r.contains("per_connection_kib")) {
      std::fprintf(stderr, " (%.2f KiB/conn)", r["per_connection_kib"].get<double>());
    }
  }
  if (out.contains("reports")) {
    const auto& r = out["reports"];
    std::fprintf(stderr,
                 ", reports %llu of %llu complete (last at %.2f s; per report p50 %.0f ms, max "
                 "%.0f ms; per part p50 %.1f ms, p99 %.1f ms)",
                 static_cast<unsigned long long>(total.reports_completed),
                 static_cast<unsigned long long>(total.reports_requested),
                 r["last_completed_s"].get<double>(), r["report_ms"]["p50"].get<double>(),
                 r["report_ms"]["max"].get<double>(), r["part_ms"]["p50"].get<double>(),
                 r["part_ms"]["p99"].get<double>());
  }
  if (out.contains("remote_start")) {
    const auto& r = out["remote_start"];
    std::fprintf(stderr, ", REST start p50 %.1f ms p99 %.1f ms (%zu), stop p50 %.1f ms p99 %.1f ms",
                 r["start_ms"]["p50"].get<double>(), r["start_ms"]["p99"].get<double>(),
                 r["starts"].get<size_t>(), r["stop_ms"]["p50"].get<double>(),
                 r["stop_ms"]["p99"].get<double>());
  }
  std::fprintf(stderr, "\n");
  bool measured = options_.mode == Mode::kStorm || options_.mode == Mode::kIdle
                      ? ready_ == options_.connections
                      : total.calls > 0;
  if (await_reports && reports_done_ < ready_) measured = false;
  return errors == 0 && measured ? 0 : 1;
}

// Many connections need many descriptors: lift the soft limit to the hard one.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A bare --answer-reports (no 0/1 after it) means --answer-reports=1.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] != "--answer-reports") continue;
    const bool valued = i + 1 < args.size() && (args[i + 1] == "0" || args[i + 1] == "1");
    if (!valued) args[i] = "--answer-reports=1";
  }
  std::vector<char*> arg_ptrs;
  for (auto& a : args) arg_ptrs.push_back(a.data());
  argc = static_cast<int>(arg_ptrs.size());
  argv = arg_ptrs.data();
  csms::Config config = csms::ParseConfigOrExit(
      argc, argv, "csms-loadgen",
      "OCPP 2.0.1 load generator: --mode heartbeat|transactions|storm|idle. Prints a JSON result\n"
      "on stdout and a summary on stderr; every run stops by itself.",
      {
          {"mode", "", "heartbeat", "heartbeat | transactions | storm | idle"},
          {"url", "", "ws://127.0.0.1:9000/ocpp",
           "gateway URL, ws:// or wss:// (TLS); /<station id> is appended"},
          {"ca-file", "", "",
           "wss: PEM CA(s) the server certificate must chain to (the name is checked against "
           "the URL's host); empty = the system's CAs"},
          {"client-cert", "", "",
           "wss: PEM client certificate (profile 3); {id} in the path stands for the station id "
           "(one TLS context per connection then)"},
          {"client-key", "", "", "wss: PEM key of --client-cert; {id} as there"},
          {"password", "CSMS_LOADGEN_PASSWORD", "",
           "HTTP Basic auth password of every station (security profiles 1 and 2); use the "
           "environment variable, not the command line"},
          {"tls-sigalgs", "", "",
           "wss: signature algorithms offered, which picks the server's certificate when it has "
           "an RSA and an ECDSA one, e.g. ECDSA+SHA256 or RSA-PSS+SHA256:RSA+SHA256; empty = "
           "OpenSSL's default"},
          {"connections", "", "100", "WebSocket connections (one station each)"},
          {"rate", "", "0", "aggregate CALLs/s (open loop); 0 = closed loop at max rate"},
          {"id-prefix", "", "load_", "station ids are <prefix><index>"},
          {"seconds", "", "10", "measured seconds (idle: hold time)"},
          {"warmup-seconds", "", "2", "unmeasured seconds after every connection has booted"},
          {"setup-timeout", "", "60", "seconds allowed for all connections to connect and boot"},
          {"connect-rate", "", "0",
           "connections opened per second during setup (0: all at once, a storm)"},
          {"threads", "", "1", "threads running the io_context"},
          {"source-ips", "", "1", "bind sockets round-robin to 127.0.0.1..127.0.0.K"},
          {"tx-updates", "", "3", "transactions: Updated events per transaction"},
          {"server-pid", "", "", "comma-separated pids whose RSS is reported"},
          {"rest-url", "", "",
           "http://host:port of the gateway's REST API: remote start/stop there, one after "
           "another, during the measured window, on top of the --mode load"},
          {"remote-starts", "", "0", "with --rest-url: at most this many (0: as many as fit)"},
          {"answer-reports", "", "0",
           "1 (or the bare flag): answer GetBaseReport / GetReport with Accepted, then send the "
           "report as NotifyReport parts, each after the previous one's CALLRESULT; a storm then "
           "waits for every booted station's report"},
          {"report-variables", "", "200", "--answer-reports: variables in each report"},
          {"authorize-range", "", "0",
           "heartbeat mode: send Authorize for a random BENCH%08d below this instead of "
           "Heartbeat (the ids bench/run.sh token-import stores); 0: heartbeats"},
          {"report-items-per-part", "", "50",
           "--answer-reports: reportData items per NotifyReport part"},
          {"report-timeout", "", "900",
           "storm with --answer-reports: seconds after the boots to wait for the reports"},
      });
  Options options;
  try {
    std::string error;
    if (!ParseWsUrl(config.Get("url"), &options, &error)) throw std::invalid_argument(error);
    options.ca_file = config.Get("ca-file");
    options.client_cert = config.Get("client-cert");
    options.client_key = config.Get("client-key");
    options.tls_sigalgs = config.Get("tls-sigalgs");
    if (!options.tls && (!options.ca_file.empty() || !options.client_cert.empty() ||
                         !options.client_key.empty() || !options.tls_sigalgs.empty())) {
      throw std::invalid_argument(
          "--ca-file, --client-cert, --client-key and --tls-sigalgs "
          "need a wss:// --url");
    }
    if (options.client_cert.empty() != options.client_key.empty()) {
      throw std::invalid_argument("--client-cert and --client-key go together");
    }
    std::string mode = config.Get("mode");
    if (mode == "heartbeat") {
      options.mode = Mode::kHeartbeat;
    } else if (mode == "transactions") {
      options.mode = Mode::kTransactions;
    } else if (mode == "storm") {
      options.mode = Mode::kStorm;
    } else if (mode == "idle") {
      options.mode = Mode::kIdle;
    } else {
      throw std::invalid_argument("--mode must be heartbeat, transactions, storm or idle");
    }
    options.connections = config.GetInt("connections");
    options.rate = config.GetDouble("rate");
    options.id_prefix = config.Get("id-prefix");
    options.seconds = config.GetDouble("seconds");
    options.warmup_seconds = config.GetDouble("warmup-seconds");
    options.setup_timeout_seconds = config.GetDouble("setup-timeout");
    options.connect_rate = config.GetDouble("connect-rate");
    options.threads = config.GetInt("threads");
    options.source_ips = config.GetInt("source-ips");
    options.tx_updates = config.GetInt("tx-updates");
    if (!config.Get("rest-url").empty() &&
        !ParseHttpUrl(config.Get("rest-url"), &options.rest_host, &options.rest_port)) {
      throw std::invalid_argument("--rest-url must look like http://host:port");
    }
    options.remote_starts = config.GetInt("remote-starts");
    options.password = config.Get("password");
    options.answer_reports = config.Get("answer-reports") == "1";
    if (config.Get("answer-reports") != "0" && config.Get("answer-reports") != "1") {
      throw std::invalid_argument("--answer-reports must be 0 or 1");
    }
    options.report_variables = config.GetInt("report-variables");
    options.authorize_tokens = config.GetInt("authorize-range");
    if (options.authorize_tokens < 0) throw std::invalid_argument("--authorize-range must be >= 0");
    options.report_items_per_part = config.GetInt("report-items-per-part");
    options.report_timeout_seconds = config.GetDouble("report-timeout");
    if (options.report_variables < 0) {
      throw std::invalid_argument("--report-variables must be >= 0");
    }
    if (options.report_items_per_part < 1) {
      throw std::invalid_argument("--report-items-per-part must be at least 1");
    }
    if (options.report_timeout_seconds <= 0) {
      throw std::invalid_argument("--report-timeout must be positive");
    }
    std::stringstream pids(config.Get("server-pid"));
    for (std::string p; std::getline(pids, p, ',');) {
      if (!p.empty()) options.server_pids.push_back(std::stoi(p));
    }
    if (options.connections < 1) throw std::invalid_argument("--connections must be at least 1");
    if (options.seconds <= 0) throw std::invalid_argument("--seconds must be positive");
    if (options.warmup_seconds < 0) throw std::invalid_argument("--warmup-seconds must be >= 0");
    if (options.rate < 0) throw std::invalid_argument("--rate must be >= 0");
    if (options.setup_timeout_seconds <= 0) {
      throw std::invalid_argument("--setup-timeout must be positive");
    }
    if (options.threads < 1) throw std::invalid_argument("--threads must be at least 1");
    if (options.source_ips < 1 || options.source_ips > 254) {
      throw std::invalid_argument("--source-ips must be in 1..254");
    }
    if (options.tx_updates < 0) throw std::invalid_argument("--tx-updates must be >= 0");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n\n" << config.Usage();
    return 2;
  }
  if (options.answer_reports) {
    // Every part this run can send, checked once against the OCPP 2.0.1 NotifyReport schema.
    auto parts = BuildReportParts(options.report_variables, options.report_items_per_part);
    for (size_t seq = 0; seq < parts.size(); ++seq) {
      std::string frame = R"([2,"1)" + NotifyReportFrame(parts, 1, UtcNow(), seq);
      auto call = nlohmann::json::parse(frame, nullptr, false);
      std::optional<csms::ocpp::SchemaViolation> violation;
      if (call.is_array() && call.size() == 4) {
        violation = csms::ocpp::SchemaSet::Ocpp201().Validate(
            "NotifyReport", csms::ocpp::PayloadKind::kRequest, call[3]);
      }
      if (!call.is_array() || call.size() != 4 || violation) {
        std::cerr << "NotifyReport part " << seq << " is not valid OCPP 2.0.1"
                  << (violation ? ": " + violation->description : std::string()) << "\n";
        return 1;
      }
    }
  }
  RaiseFileLimit();
  net::io_context io(options.threads);
  Bench bench(io, std::move(options));
  return bench.Run();
}
