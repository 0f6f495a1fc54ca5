// csms-bench-heartbeat: closed-loop OCPP 2.0.1 Heartbeat load against the gateway.
//
// N WebSocket connections each send a BootNotification, then Heartbeat CALLs one at a time (OCPP
// allows one outstanding CALL per direction) for a warmup and a measured window. Prints one JSON
// object on stdout and a summary line on stderr. One io_context; --threads runs it on more threads
// (each connection then gets its own strand).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "csms/common/config.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kSubprotocol = "ocpp2.0.1";
constexpr std::string_view kBootFrame =
    R"([2,"1","BootNotification",{"reason":"PowerUp","chargingStation":)"
    R"({"model":"Bench","vendorName":"CSMS"}}])";
constexpr std::string_view kHeartbeatPrefix = R"([2,")";
constexpr std::string_view kHeartbeatSuffix = R"(","Heartbeat",{}])";
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kCloseGrace = std::chrono::seconds(2);
constexpr int64_t kStalledNs = 1'000'000'000;  // a CALL unanswered this long at the end

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string host;
  std::string port;
  std::string host_header;  // host[:port] as given in the URL
  std::string path;         // without a trailing slash; the station id is appended
  int connections = 100;
  std::string id_prefix;
  double seconds = 10;
  double warmup_seconds = 2;
  double setup_timeout_seconds = 30;
  int threads = 1;
};

bool ParseWsUrl(const std::string& url, Options* out, std::string* error) {
  constexpr std::string_view kScheme = "ws://";
  if (url.rfind(kScheme, 0) != 0) {
    *error = "--url must start with ws:// (wss is not supported)";
    return false;
  }
  std::string rest = url.substr(kScheme.size());
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
  out->port = port_part.empty() ? "80" : port_part;
  if (out->host.empty()) {
    *error = "--url has no host";
    return false;
  }
  return true;
}

// Per-connection counters; only the connection's own handlers touch them until the run ends.
struct Stats {
  uint64_t calls = 0;  // CALLRESULTs received inside the measured window
  std::vector<uint32_t> latency_us;
  uint64_t connect_errors = 0;
  uint64_t boot_errors = 0;
  uint64_t call_errors = 0;  // CALLERROR replies to Heartbeat
  uint64_t unexpected = 0;   // frames that are neither our CALLRESULT nor our CALLERROR
  uint64_t closed = 0;       // connections lost before the end
  uint64_t stalled = 0;      // a CALL still unanswered after kStalledNs when the run stopped
};

class Connection;

// Owns the connections and the run's phases. Its own state lives on the control strand.
class Bench {
 public:
  Bench(net::io_context& io, Options options)
      : io_(io),
        options_(std::move(options)),
        ctl_(net::make_strand(io)),
        setup_timer_(ctl_),
        phase_timer_(ctl_),
        grace_timer_(ctl_) {}

  int Run();

  // Called from connections' handlers (any thread).
  void OnSetupDone(bool ok);
  void OnConnectionDone();
  void NoteError(const std::string& message);

  const Options& options() const { return options_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  int64_t measure_start_ns() const { return measure_start_ns_.load(std::memory_order_relaxed); }
  int64_t measure_end_ns() const { return measure_end_ns_.load(std::memory_order_relaxed); }

 private:
  void StartPhase();
  void Finish();
  int Report(double setup_seconds);

  net::io_context& io_;
  Options options_;
  net::strand<net::io_context::executor_type> ctl_;
  net::steady_timer setup_timer_;
  net::steady_timer phase_timer_;
  net::steady_timer grace_timer_;
  tcp::resolver::results_type endpoints_;
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
  // Any thread.
  std::mutex errors_mu_;
  std::vector<std::string> first_errors_;
  uint64_t suppressed_errors_ = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::any_io_executor executor, Bench& bench, std::string id)
      : ws_(executor), bench_(bench), id_(std::move(id)) {
    target_ = bench_.options().path + "/" + id_;
    wbuf_.reserve(64);
    expect_.reserve(32);
  }

  net::any_io_executor executor() { return ws_.get_executor(); }
  const Stats& stats() const { return stats_; }

  void Start() {
    state_ = State::kConnecting;
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(kConnectTimeout);
    stream.async_connect(bench_.endpoints(),
                         [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                           self->OnConnect(ec);
                         });
  }

  // Setup took too long: whatever is not running yet counts as failed.
  void AbortSetup() {
    if (state_ == State::kConnecting) {
      Fail(&Stats::connect_errors, "connect/handshake did not finish within --setup-timeout");
    } else if (state_ == State::kBooting) {
      Fail(&Stats::boot_errors, "BootNotification not answered within --setup-timeout");
    }
  }

  // End of the run: close with 1000 once the current write (if any) is out.
  void Stop() {
    if (state_ == State::kDone || state_ == State::kClosing) return;
    if (state_ != State::kRunning) return ForceClose();
    if (waiting_reply_ && NowNs() - sent_ns_ > kStalledNs) ++stats_.stalled;
    state_ = State::kClosing;
    if (writing_) {
      close_after_write_ = true;
    } else {
      DoClose();
    }
  }

  void ForceClose() {
    beast::get_lowest_layer(ws_).close();
    Done();
  }

 private:
  enum class State { kIdle, kConnecting, kBooting, kRunning, kClosing, kDone };

  void OnConnect(beast::error_code ec) {
    if (state_ != State::kConnecting) return;
    if (ec) return Fail(&Stats::connect_errors, "connect: " + ec.message());
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_never();
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol,
              beast::string_view(kSubprotocol.data(), kSubprotocol.size()));
      req.set(http::field::user_agent, "csms-bench-heartbeat");
    }));
    ws_.async_handshake(
        response_, bench_.options().host_header, target_,
        [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (state_ != State::kConnecting) return;
    if (ec) return Fail(&Stats::connect_errors, "WebSocket handshake: " + ec.message());
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
    wbuf_.assign(kBootFrame);
    expect_ = R"([3,"1")";
    next_id_ = 2;
    waiting_reply_ = true;
    sent_ns_ = NowNs();
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
    if (state_ == State::kRunning) {
      OnHeartbeatReply(text);
    } else if (state_ == State::kBooting) {
      OnBootReply(text);
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
    state_ = State::kRunning;
    ReportSetup(true);
    SendOrDefer();
  }

  void OnHeartbeatReply(std::string_view text) {
    int64_t now = NowNs();
    char kind = ReplyKind(text);
    if (kind == 0) {
      ++stats_.unexpected;
      bench_.NoteError("unexpected frame: " + std::string(text.substr(0, 200)));
      return;  // still waiting for the real reply
    }
    waiting_reply_ = false;
    if (kind == '3') {
      if (now >= bench_.measure_start_ns() && now < bench_.measure_end_ns()) {
        ++stats_.calls;
        stats_.latency_us.push_back(static_cast<uint32_t>((now - sent_ns_) / 1000));
      }
    } else {
      ++stats_.call_errors;
      bench_.NoteError("CALLERROR: " + std::string(text.substr(0, 200)));
    }
    if (now >= bench_.measure_end_ns()) return;  // Stop() closes
    SendOrDefer();
  }

  void SendOrDefer() {
    if (writing_) {
      send_after_write_ = true;
    } else {
      SendHeartbeat();
    }
  }

  void SendHeartbeat() {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), next_id_++).ptr;
    std::string_view id(digits, static_cast<size_t>(end - digits));
    wbuf_.assign(kHeartbeatPrefix);
    wbuf_.append(id);
    wbuf_.append(kHeartbeatSuffix);
    expect_.assign(R"([3,")");
    expect_.append(id);
    expect_.push_back('"');
    waiting_reply_ = true;
    sent_ns_ = NowNs();
    Write();
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
    if (send_after_write_ && state_ == State::kRunning) {
      send_after_write_ = false;
      SendHeartbeat();
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

  websocket::stream<beast::tcp_stream> ws_;
  Bench& bench_;
  std::string id_;
  std::string target_;
  websocket::response_type response_;
  beast::flat_buffer rbuf_;
  std::string wbuf_;
  std::string expect_;  // `[3,"<id>"` of the outstanding CALL
  uint64_t next_id_ = 1;
  int64_t sent_ns_ = 0;
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
      if (!finishing_) {
        // Everything failed or closed before the end; nothing more can happen.
        finishing_ = true;
        measure_end_ns_ = std::min(measure_end_ns_.load(), NowNs());
      }
    }
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

void Bench::StartPhase() {
  phase_started_ = true;
  setup_timer_.cancel();
  setup_end_ns_ = NowNs();
  if (ready_ == 0) {
    measure_start_ns_ = setup_end_ns_;
    measure_end_ns_ = setup_end_ns_;
    return Finish();
  }
  for (auto& c : connections_) net::post(c->executor(), [c] { c->AbortSetup(); });
  auto warmup = std::chrono::nanoseconds(static_cast<int64_t>(options_.warmup_seconds * 1e9));
  auto measured = std::chrono::nanoseconds(static_cast<int64_t>(options_.seconds * 1e9));
  measure_start_ns_ = setup_end_ns_ + warmup.count();
  measure_end_ns_ = setup_end_ns_ + warmup.count() + measured.count();
  phase_timer_.expires_after(warmup + measured);
  phase_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) Finish();
  });
}

void Bench::Finish() {
  if (finishing_) return;
  finishing_ = true;
  for (auto& c : connections_) net::post(c->executor(), [c] { c->Stop(); });
  grace_timer_.expires_after(kCloseGrace);
  grace_timer_.async_wait([this](beast::error_code ec) {
    if (ec) return;
    for (auto& c : connections_) net::post(c->executor(), [c] { c->ForceClose(); });
  });
}

int Bench::Run() {
  run_start_ns_ = NowNs();
  beast::error_code ec;
  tcp::resolver resolver(io_);
  endpoints_ = resolver.resolve(options_.host, options_.port, ec);
  if (ec) {
    NoteError("resolve " + options_.host + ":" + options_.port + ": " + ec.message());
    connections_.clear();
    setup_end_ns_ = NowNs();
    measure_start_ns_ = measure_end_ns_ = setup_end_ns_;
    return Report(0);
  }

  connections_.reserve(static_cast<size_t>(options_.connections));
  for (int i = 0; i < options_.connections; ++i) {
    net::any_io_executor executor = options_.threads > 1
                                        ? net::any_io_executor(net::make_strand(io_))
                                        : net::any_io_executor(io_.get_executor());
    connections_.push_back(
        std::make_shared<Connection>(executor, *this, options_.id_prefix + std::to_string(i)));
  }
  net::post(ctl_, [this] {
    setup_timer_.expires_after(
        std::chrono::milliseconds(static_cast<int64_t>(options_.setup_timeout_seconds * 1000)));
    setup_timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !phase_started_) StartPhase();
    });
    for (auto& c : connections_) net::post(c->executor(), [c] { c->Start(); });
  });

  std::vector<std::thread> extra;
  for (int i = 1; i < options_.threads; ++i) extra.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : extra) t.join();
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
    total.calls += s.calls;
    total.latency_us.insert(total.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    total.connect_errors += s.connect_errors;
    total.boot_errors += s.boot_errors;
    total.call_errors += s.call_errors;
    total.unexpected += s.unexpected;
    total.closed += s.closed;
    total.stalled += s.stalled;
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  auto percentile = [&](double p) -> double {
    if (total.latency_us.empty()) return 0;
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(total.latency_us.size())));
    return total.latency_us[std::clamp<size_t>(rank, 1, total.latency_us.size()) - 1];
  };
  double window = static_cast<double>(measure_end_ns_ - measure_start_ns_) / 1e9;
  double rate = window > 0 ? static_cast<double>(total.calls) / window : 0;
  uint64_t errors = total.connect_errors + total.boot_errors + total.call_errors +
                    total.unexpected + total.closed;

  nlohmann::ordered_json out = {
      {"connections", options_.connections},
      {"ready", ready_},
      {"threads", options_.threads},
      {"seconds", options_.seconds},
      {"warmup_seconds", options_.warmup_seconds},
      {"setup_seconds", std::round(setup_seconds * 1000) / 1000},
      {"calls", total.calls},
      {"msg_per_s", std::round(rate * 10) / 10},
      {"latency_us",
       {{"p50", percentile(0.5)},
        {"p99", percentile(0.99)},
        {"p99_9", percentile(0.999)},
        {"max", total.latency_us.empty() ? 0.0 : double(total.latency_us.back())}}},
      {"errors", errors},
      {"error_detail",
       {{"connect", total.connect_errors},
        {"boot", total.boot_errors},
        {"call_error", total.call_errors},
        {"unexpected", total.unexpected},
        {"closed", total.closed}}},
      {"stalled", total.stalled},
  };
  std::cout << out.dump() << std::endl;

  {
    std::lock_guard lock(errors_mu_);
    for (const auto& e : first_errors_) std::cerr << "error: " << e << "\n";
    if (suppressed_errors_ > 0) std::cerr << "(" << suppressed_errors_ << " more errors)\n";
  }
  std::fprintf(stderr,
               "heartbeat: %d connections, %.0f msg/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
               "max %.2f ms, errors %llu",
               options_.connections, rate, percentile(0.5) / 1000, percentile(0.99) / 1000,
               percentile(0.999) / 1000, out["latency_us"]["max"].get<double>() / 1000,
               static_cast<unsigned long long>(errors));
  if (total.stalled > 0) {
    std::fprintf(stderr, ", stalled %llu", static_cast<unsigned long long>(total.stalled));
  }
  std::fprintf(stderr, "\n");
  return errors == 0 && total.calls > 0 ? 0 : 1;
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
  csms::Config config = csms::ParseConfigOrExit(
      argc, argv, "csms-bench-heartbeat",
      "Closed-loop OCPP 2.0.1 Heartbeat benchmark: N connections boot, then send Heartbeat CALLs\n"
      "one at a time each. Prints a JSON result on stdout and a summary on stderr.",
      {
          {"url", "", "ws://127.0.0.1:9000/ocpp", "gateway URL; /<station id> is appended"},
          {"connections", "", "100", "WebSocket connections (one station each)"},
          {"id-prefix", "", "bench_", "station ids are <prefix><index>"},
          {"seconds", "", "10", "measured seconds"},
          {"warmup-seconds", "", "2", "unmeasured seconds after every connection has booted"},
          {"setup-timeout", "", "30", "seconds allowed for all connections to connect and boot"},
          {"threads", "", "1", "threads running the io_context"},
      });
  Options options;
  try {
    std::string error;
    if (!ParseWsUrl(config.Get("url"), &options, &error)) throw std::invalid_argument(error);
    options.connections = config.GetInt("connections");
    options.id_prefix = config.Get("id-prefix");
    options.seconds = config.GetDouble("seconds");
    options.warmup_seconds = config.GetDouble("warmup-seconds");
    options.setup_timeout_seconds = config.GetDouble("setup-timeout");
    options.threads = config.GetInt("threads");
    if (options.connections < 1) throw std::invalid_argument("--connections must be at least 1");
    if (options.seconds <= 0) throw std::invalid_argument("--seconds must be positive");
    if (options.warmup_seconds < 0) throw std::invalid_argument("--warmup-seconds must be >= 0");
    if (options.setup_timeout_seconds <= 0) {
      throw std::invalid_argument("--setup-timeout must be positive");
    }
    if (options.threads < 1) throw std::invalid_argument("--threads must be at least 1");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n\n" << config.Usage();
    return 2;
  }
  RaiseFileLimit();
  net::io_context io(options.threads);
  Bench bench(io, std::move(options));
  return bench.Run();
}
