#include "csms/common/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "csms/common/metrics_http.h"
#include "prom_text.h"

namespace csms::metrics {
namespace {

using csms::testing::ParsePromText;

TEST(MetricsTest, RendersCountersGaugesWithHelpTypeAndEscapedLabels) {
  Registry registry;
  registry.AddCounter("requests_total", "Requests, by path.\nSecond line \\ here", {"path"})
      .Labels({"a\"b\\c\nd"})
      .Inc(3);
  registry.AddGauge("temperature", "A gauge.").Get().Set(-1.5);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP requests_total Requests, by path.\\nSecond line \\\\ here\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE temperature gauge\ntemperature -1.5\n"), std::string::npos) << text;
  auto parsed = ParsePromText(text);
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front();
  ASSERT_EQ(parsed.samples.size(), 2u);
  EXPECT_EQ(parsed.samples[0].labels.at("path"), "a\"b\\c\nd");  // round trip
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndEndWithInf) {
  Registry registry;
  auto& h =
      registry.AddHistogram("latency_seconds", "Latency.", {"op"}, {0.1, 1, 10}).Labels({"x"});
  h.Observe(0.05);
  h.Observe(0.1);  // on the bound: counted in le="0.1"
  h.Observe(0.5);
  h.Observe(100);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"10\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum{op=\"x\"} 100.65\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_count{op=\"x\"} 4\n"), std::string::npos);
  auto parsed = ParsePromText(text);
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front();
}

TEST(MetricsTest, SameNameReturnsSameFamilyAndShapeMismatchThrows) {
  Registry registry;
  auto& a = registry.AddCounter("c_total", "c", {"x"});
  auto& b = registry.AddCounter("c_total", "c", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.Labels({"1"}), &b.Labels({"1"}));
  EXPECT_THROW(registry.AddCounter("c_total", "c", {"y"}), std::logic_error);
  EXPECT_THROW(registry.AddGauge("c_total", "c", {"x"}), std::logic_error);
  EXPECT_THROW(registry.AddCounter("bad-name", "c"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_total", "c", {"le"}), std::invalid_argument);
  EXPECT_THROW(a.Labels({"1", "2"}), std::invalid_argument);
}

TEST(MetricsTest, CallbacksRenderAtScrapeTimeAndCanBeRemoved) {
  Registry registry;
  double value = 1;
  {
    ScopedCallback cb(
        registry, registry.AddCallback("live", "Live value.", Type::kGauge, [&] { return value; }));
    value = 42;
    EXPECT_NE(registry.Render().find("live 42\n"), std::string::npos);
  }
  EXPECT_EQ(registry.Render().find("live"), std::string::npos);
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(2.5e-4), "0.00025");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(7), "7");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  auto& counter = registry.AddCounter("n_total", "n", {"t"});
  auto& hist = registry.AddHistogram("h_seconds", "h", {});
  constexpr int kThreads = 4, kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share one child, half look theirs up each time.
      Counter& mine = counter.Labels({t % 2 == 0 ? "shared" : std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        mine.Inc();
        hist.Get().Observe(0.001);
      }
    });
  }
  // Scrapes while writers run must always be valid text.
  for (int i = 0; i < 20; ++i) {
    auto parsed = ParsePromText(registry.Render());
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front();
  }
  for (auto& t : threads) t.join();
  auto parsed = ParsePromText(registry.Render());
  EXPECT_EQ(parsed.Sum("n_total"), kThreads * kPerThread);
  EXPECT_EQ(parsed.Sum("n_total", {{"t", "shared"}}), 2 * kPerThread);
  EXPECT_EQ(parsed.Sum("h_seconds_count"), kThreads * kPerThread);
  EXPECT_EQ(parsed.Sum("h_seconds_bucket", {{"le", "+Inf"}}), kThreads * kPerThread);
}

TEST(MetricsTest, ProcessMetricsReadProc) {
  Registry registry;
  RegisterProcessMetrics(registry);
  RegisterProcessMetrics(registry);  // idempotent
  auto parsed = ParsePromText(registry.Render());
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front();
  EXPECT_GT(parsed.Sum("process_resident_memory_bytes"), 1e5);
  EXPECT_GT(parsed.Sum("process_open_fds"), 2);
  EXPECT_GE(parsed.Sum("process_threads"), 1);
  EXPECT_GT(parsed.Sum("process_start_time_seconds"), 1.6e9);
  EXPECT_LE(parsed.Sum("process_start_time_seconds"), static_cast<double>(time(nullptr)) + 1);
  EXPECT_GE(parsed.Sum("process_cpu_seconds_total"), 0);
  EXPECT_EQ(parsed.types["process_cpu_seconds_total"], "counter");
}

TEST(ParserTest, RejectsWhatIsNotPrometheusText) {
  EXPECT_FALSE(ParsePromText("x 1\n").errors.empty());  // no TYPE
  EXPECT_FALSE(ParsePromText("# TYPE x counter\nx{a=\"b} 1\n").errors.empty());
  EXPECT_FALSE(ParsePromText("# TYPE x counter\nx one\n").errors.empty());
  EXPECT_FALSE(ParsePromText("# TYPE x counter\nx -1\n").errors.empty());
  EXPECT_FALSE(ParsePromText("# TYPE x gauge\nx{a=\"\\t\"} 1\n").errors.empty());
  EXPECT_FALSE(ParsePromText("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                             "h_sum 1\nh_count 1\n")
                   .errors.empty());  // not cumulative
  EXPECT_FALSE(ParsePromText("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n")
                   .errors.empty());  // no +Inf
  EXPECT_TRUE(
      ParsePromText("# HELP x a\n# TYPE x gauge\nx{a=\"1\",b=\"2\"} +Inf\n\n").errors.empty());
}

// A raw HTTP GET against 127.0.0.1:port; returns the whole response.
std::string HttpGet(int port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  close(fd);
  return response;
}

TEST(HttpEndpointTest, ServesMetricsHealthAndReadiness) {
  Registry registry;
  registry.AddCounter("hits_total", "Hits.").Get().Inc();
  bool ready = false;
  HttpEndpoint endpoint(registry, [&](std::string* why) {
    *why = "database unreachable: \"db\"\n\xff";
    return ready;
  });
  std::string error;
  ASSERT_TRUE(endpoint.Start("127.0.0.1:0", &error)) << error;
  ASSERT_GT(endpoint.port(), 0);
  const std::string metrics = HttpGet(endpoint.port(), "/metrics");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos);
  const std::string body = metrics.substr(metrics.find("\r\n\r\n") + 4);
  auto parsed = ParsePromText(body);
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_EQ(parsed.Sum("hits_total"), 1);
  EXPECT_EQ(HttpGet(endpoint.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  const std::string not_ready = HttpGet(endpoint.port(), "/readyz");
  EXPECT_EQ(not_ready.rfind("HTTP/1.1 503", 0), 0u) << not_ready;
  EXPECT_NE(not_ready.find("database unreachable"), std::string::npos);
  EXPECT_NE(not_ready.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos);
  // The reason (a dependency's error text) stays one valid JSON string.
  const auto reason = nlohmann::json::parse(not_ready.substr(not_ready.find("\r\n\r\n") + 4));
  EXPECT_EQ(reason["reason"], "database unreachable: \"db\"\\x0a\\xff");
  ready = true;
  EXPECT_EQ(HttpGet(endpoint.port(), "/readyz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(HttpGet(endpoint.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  endpoint.Stop();
  EXPECT_EQ(HttpGet(endpoint.port(), "/metrics"), "");  // closed
}

TEST(HttpEndpointTest, RefusesAnAddressInUse) {
  HttpEndpoint first, second;
  std::string error;
  ASSERT_TRUE(first.Start("127.0.0.1:0", &error)) << error;
  EXPECT_FALSE(second.Start("127.0.0.1:" + std::to_string(first.port()), &error));
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
}

}  // namespace
}  // namespace csms::metrics
