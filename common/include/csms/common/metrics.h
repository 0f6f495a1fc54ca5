#pragma once

// Prometheus metrics: counters, gauges and histograms with fixed label names, rendered in the
// text exposition format 0.0.4. Updates are lock-free atomics; the only lock is taken when a
// labelled child is looked up, so hot paths look a child up once and keep the reference
// (children live as long as their registry and never move).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace csms::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the buckets' upper bounds, strictly increasing, without +Inf.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Seconds since `start` (a steady_clock reading).
  template <typename TimePoint>
  void ObserveSince(TimePoint start) {
    Observe(std::chrono::duration<double>(TimePoint::clock::now() - start).count());
  }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Snap() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative; last is +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Default latency buckets, 100 µs to 10 s.
const std::vector<double>& LatencyBuckets();

enum class Type { kCounter, kGauge, kHistogram };

// A metric name plus fixed label names; one child per distinct label-value list.
template <typename M>
class Family {
 public:
  // The child for these label values (as many as label names), created on first use.
  M& Labels(const std::vector<std::string>& values);
  // The child of a family without labels.
  M& Get() { return Labels({}); }

 private:
  friend class Registry;
  Family(Type type, std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : type_(type),
        name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  void Render(std::string& out) const;

  Type type_;
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

// Values computed at scrape time (connected chargers, queue depths, process figures).
struct Sample {
  std::vector<std::string> label_values;
  double value;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry every service exposes on /metrics.
  static Registry& Default();

  // Registering a name again returns the family already there (so several instances of a
  // component share it); a different type or label set under the same name throws.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds = LatencyBuckets());

  // A gauge or counter whose samples `collect` produces at scrape time. Returns an id for
  // RemoveCallback; remove it before anything `collect` uses is destroyed.
  int AddCallback(const std::string& name, const std::string& help, Type type,
                  std::vector<std::string> label_names,
                  std::function<std::vector<Sample>()> collect);
  int AddCallback(const std::string& name, const std::string& help, Type type,
                  std::function<double()> value);
  void RemoveCallback(int id);

  // The whole registry in the text exposition format 0.0.4, families in registration order.
  std::string Render() const;

 private:
  struct Callback {
    int id;
    std::string name, help;
    Type type;
    std::vector<std::string> label_names;
    std::function<std::vector<Sample>()> collect;
  };
  struct Entry {
    Type type;
    Family<Counter>* counter = nullptr;
    Family<Gauge>* gauge = nullptr;
    Family<Histogram>* histogram = nullptr;
    Callback* callback = nullptr;
  };
  template <typename M>
  Family<M>& Add(Type type, const std::string& name, const std::string& help,
                 std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
  std::deque<std::unique_ptr<Family<Counter>>> counters_;
  std::deque<std::unique_ptr<Family<Gauge>>> gauges_;
  std::deque<std::unique_ptr<Family<Histogram>>> histograms_;
  std::map<int, std::unique_ptr<Callback>> callbacks_;
  int next_callback_id_ = 1;
};

// Removes a registry callback when it goes out of scope.
class ScopedCallback {
 public:
  ScopedCallback() = default;
  ScopedCallback(Registry& registry, int id) : registry_(&registry), id_(id) {}
  ScopedCallback(ScopedCallback&& other) noexcept { *this = std::move(other); }
  ScopedCallback& operator=(ScopedCallback&& other) noexcept {
    Reset();
    registry_ = other.registry_;
    id_ = other.id_;
    other.registry_ = nullptr;
    return *this;
  }
  ~ScopedCallback() { Reset(); }
  void Reset() {
    if (registry_ != nullptr) registry_->RemoveCallback(id_);
    registry_ = nullptr;
  }

 private:
  Registry* registry_ = nullptr;
  int id_ = 0;
};

// Text-format helpers (exposed for tests).
std::string EscapeLabelValue(std::string_view value);  // \ " and newline
std::string EscapeHelp(std::string_view help);         // \ and newline
std::string FormatValue(double value);                 // +Inf, -Inf, NaN, shortest round-trip
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

// Process figures from /proc/self (RSS, virtual memory, CPU seconds, open and max fds, threads,
// start time) as process_* metrics, read at scrape time. Idempotent.
void RegisterProcessMetrics(Registry& registry = Registry::Default());

}  // namespace csms::metrics
