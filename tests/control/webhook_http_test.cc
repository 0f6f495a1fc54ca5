// HttpWebhookSender against a small HTTP server in this process: the request as built, what an
// answer carries back (status, Retry-After, an excerpt), no redirect followed, the timeout, a
// refused connection, TLS to a server that does not speak it, and Cancel.
#include "csms/control/webhook_http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace csms::control {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

// Answers by path: /ok 200, /busy 503 + Retry-After, /moved 302, /big 500 with 100 KiB, /slow
// after 1.5 s. Records what it was sent.
class Receiver {
 public:
  struct Seen {
    std::string method, target, body;
    std::map<std::string, std::string> headers;
  };

  Receiver() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Accept(); });
  }
  ~Receiver() {
    // A blocking accept does not return when the acceptor is closed elsewhere: wake it.
    stop_ = true;
    {
      net::io_context io;
      tcp::socket wake(io);
      beast::error_code ignored;
      wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
    }
    thread_.join();
    for (auto& t : connections_) t.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(tcp::socket socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    Seen s{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
    for (const auto& f : req) s.headers[std::string(f.name_string())] = std::string(f.value());
    {
      std::lock_guard lock(mu_);
      seen_.push_back(s);
    }
    http::response<http::string_body> res{http::status::ok, 11};
    if (s.target == "/busy") {
      res.result(http::status::service_unavailable);
      res.set(http::field::retry_after, "7");
      res.body() = "down for maintenance";
    } else if (s.target == "/moved") {
      res.result(http::status::found);
      res.set(http::field::location, "/ok");
    } else if (s.target == "/big") {
      res.result(http::status::internal_server_error);
      res.body() = std::string(100 * 1024, 'x');
    } else if (s.target == "/slow") {
      std::this_thread::sleep_for(milliseconds(1500));
    }
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

WebhookRequest Request(const std::string& url, milliseconds timeout = milliseconds(5000)) {
  WebhookRequest r;
  r.url = url;
  r.body = R"({"id":"u-1","kind":"connector_faulted"})";
  r.timeout = timeout;
  r.headers = {{"Content-Type", "application/json"},
               {"Idempotency-Key", "u-1"},
               {"X-CSMS-Signature", "v1=abc"}};
  return r;
}

TEST(HttpWebhookSender, PostsTheRequestAsBuilt) {
  Receiver receiver;
  HttpWebhookSender sender;
  HttpAttempt a = sender.Post(Request(receiver.Url("/ok?team=ops")));
  EXPECT_EQ(a.status, 200) << a.error;
  EXPECT_TRUE(a.error.empty());
  EXPECT_FALSE(a.cancelled);
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/ok?team=ops");
  EXPECT_EQ(seen[0].body, R"({"id":"u-1","kind":"connector_faulted"})");
  EXPECT_EQ(seen[0].headers["Idempotency-Key"], "u-1");
  EXPECT_EQ(seen[0].headers["X-CSMS-Signature"], "v1=abc");
  EXPECT_EQ(seen[0].headers["Content-Type"], "application/json");
  EXPECT_EQ(seen[0].headers["Host"], "127.0.0.1:" + std::to_string(receiver.port()));
}

TEST(HttpWebhookSender, AnswersCarryTheirStatusAndNoRedirectIsFollowed) {
  Receiver receiver;
  HttpWebhookSender sender;
  HttpAttempt busy = sender.Post(Request(receiver.Url("/busy")));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after, "7");
  EXPECT_NE(busy.error.find("down for maintenance"), std::string::npos) << busy.error;
  HttpAttempt moved = sender.Post(Request(receiver.Url("/moved")));
  EXPECT_EQ(moved.status, 302);
  EXPECT_NE(moved.error.find("redirects are not followed"), std::string::npos) << moved.error;
  HttpAttempt big = sender.Post(Request(receiver.Url("/big")));
  EXPECT_EQ(big.status, 500) << "a long answer still says its status: " << big.error;
  EXPECT_LT(big.error.size(), 300u);
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 3u) << "the redirect was not followed";
  EXPECT_EQ(seen[1].target, "/moved");
}

TEST(HttpWebhookSender, NoAnswerIsAnErrorWithoutStatus) {
  Receiver receiver;
  HttpWebhookSender sender;
  const auto started = std::chrono::steady_clock::now();
  HttpAttempt slow = sender.Post(Request(receiver.Url("/slow"), milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1200));
  EXPECT_EQ(slow.status, 0);
  EXPECT_NE(slow.error.find("timeout after 300 ms"), std::string::npos) << slow.error;
  EXPECT_GE(slow.latency, milliseconds(250));

  int closed_port = 0;
  {
    net::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  HttpAttempt refused =
      sender.Post(Request("http://127.0.0.1:" + std::to_string(closed_port) + "/hook"));
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.error.find("connecting"), std::string::npos) << refused.error;

  HttpAttempt tls = sender.Post(
      Request("https://127.0.0.1:" + std::to_string(receiver.port()) + "/ok", milliseconds(2000)));
  EXPECT_EQ(tls.status, 0);
  EXPECT_NE(tls.error.find("TLS handshake"), std::string::npos) << tls.error;

  HttpAttempt bad = sender.Post(Request("gopher://x/"));
  EXPECT_EQ(bad.status, 0);
  EXPECT_NE(bad.error.find("bad url"), std::string::npos);
}

TEST(HttpWebhookSender, CancelEndsAPostInFlight) {
  Receiver receiver;
  HttpWebhookSender sender;
  HttpAttempt result;
  std::thread post([&] { result = sender.Post(Request(receiver.Url("/slow"))); });
  std::this_thread::sleep_for(milliseconds(200));
  const auto cancelled_at = std::chrono::steady_clock::now();
  sender.Cancel();
  post.join();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, milliseconds(800));
  EXPECT_TRUE(result.cancelled);
  EXPECT_TRUE(sender.Post(Request(receiver.Url("/ok"))).cancelled) << "and every later one";
}

}  // namespace
}  // namespace csms::control
