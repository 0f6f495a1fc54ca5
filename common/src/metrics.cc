#include "csms/common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace csms::metrics {

// ---- Histogram ---------------------------------------------------------------------------------

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // Few buckets: a linear scan beats a binary search and touches one cache line.
  size_t i = 0;
  const size_t n = bounds_->size();
  const double* b = bounds_->data();
  while (i < n && v > b[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  s.cumulative.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // Concurrent observations may land between the loads; the +Inf bucket and _count must agree
  // for the output to be consistent, so _count is the bucket total.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                              0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                              1,      2.5,     5,      10};
  return buckets;
}

// ---- Text format helpers ---------------------------------------------------------------------

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  // Shortest representation that reads back to the same double.
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

namespace {
bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}
}  // namespace

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

namespace {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void Header(std::string& out, const std::string& name, const std::string& help, Type type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += EscapeHelp(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

// name{a="x",b="y"[,extra]} value
void SampleLine(std::string& out, std::string_view name, const std::vector<std::string>& names,
                const std::vector<std::string>& values, std::string_view extra_label,
                std::string_view extra_value, const std::string& value) {
  out += name;
  if (!names.empty() || !extra_label.empty()) {
    out += '{';
    bool first = true;
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      if (!first) out += ',';
      first = false;
      out += names[i];
      out += "=\"";
      out += EscapeLabelValue(values[i]);
      out += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out += ',';
      out += extra_label;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void CheckNames(const std::string& name, const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) throw std::invalid_argument("bad metric name " + name);
  for (const auto& label : label_names) {
    if (!ValidLabelName(label) || label == "le") {
      throw std::invalid_argument("bad label name " + label + " on " + name);
    }
  }
}

}  // namespace

// ---- Family ------------------------------------------------------------------------------------

template <typename M>
M& Family<M>::Labels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(name_ + ": expected " + std::to_string(label_names_.size()) +
                                " label values");
  }
  std::lock_guard lock(mu_);
  auto& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<M, Histogram>) {
      child = std::make_unique<Histogram>(&bounds_);
    } else {
      child = std::make_unique<M>();
    }
  }
  return *child;
}

template <typename M>
void Family<M>::Render(std::string& out) const {
  Header(out, name_, help_, type_);
  std::lock_guard lock(mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<M, Counter>) {
      SampleLine(out, name_, label_names_, values, "", "", std::to_string(child->Value()));
    } else if constexpr (std::is_same_v<M, Gauge>) {
      SampleLine(out, name_, label_names_, values, "", "", FormatValue(child->Value()));
    } else {
      const auto snap = child->Snap();
      const std::string bucket = name_ + "_bucket";
      for (size_t i = 0; i < bounds_.size(); ++i) {
        SampleLine(out, bucket, label_names_, values, "le", FormatValue(bounds_[i]),
                   std::to_string(snap.cumulative[i]));
      }
      SampleLine(out, bucket, label_names_, values, "le", "+Inf",
                 std::to_string(snap.cumulative.back()));
      SampleLine(out, name_ + "_sum", label_names_, values, "", "", FormatValue(snap.sum));
      SampleLine(out, name_ + "_count", label_names_, values, "", "", std::to_string(snap.count));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ----------------------------------------------------------------------------------

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

template <typename M>
Family<M>& Registry::Add(Type type, const std::string& name, const std::string& help,
                         std::vector<std::string> label_names, std::vector<double> bounds) {
  CheckNames(name, label_names);
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  Family<M>* existing = nullptr;
  if (it != entries_.end()) {
    if constexpr (std::is_same_v<M, Counter>) existing = it->second.counter;
    if constexpr (std::is_same_v<M, Gauge>) existing = it->second.gauge;
    if constexpr (std::is_same_v<M, Histogram>) existing = it->second.histogram;
    if (existing == nullptr || existing->label_names_ != label_names ||
        existing->bounds_ != bounds) {
      throw std::logic_error("metric " + name + " registered twice with different shapes");
    }
    return *existing;
  }
  if constexpr (std::is_same_v<M, Histogram>) {
    if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
        std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
        std::isinf(bounds.back())) {
      throw std::invalid_argument("histogram " + name + " needs increasing finite bounds");
    }
  }
  auto* family = new Family<M>(type, name, help, std::move(label_names), std::move(bounds));
  Entry entry{type};
  if constexpr (std::is_same_v<M, Counter>) {
    counters_.emplace_back(family);
    entry.counter = family;
  } else if constexpr (std::is_same_v<M, Gauge>) {
    gauges_.emplace_back(family);
    entry.gauge = family;
  } else {
    histograms_.emplace_back(family);
    entry.histogram = family;
  }
  entries_.emplace(name, entry);
  order_.push_back(name);
  return *family;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  return Add<Counter>(Type::kCounter, name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return Add<Gauge>(Type::kGauge, name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  return Add<Histogram>(Type::kHistogram, name, help, std::move(label_names), std::move(bounds));
}

int Registry::AddCallback(const std::string& name, const std::string& help, Type type,
                          std::vector<std::string> label_names,
                          std::function<std::vector<Sample>()> collect) {
  if (type == Type::kHistogram) throw std::invalid_argument("callback histograms unsupported");
  CheckNames(name, label_names);
  std::lock_guard lock(mu_);
  if (entries_.count(name) != 0) {
    throw std::logic_error("metric " + name + " registered twice");
  }
  const int id = next_callback_id_++;
  auto callback = std::make_unique<Callback>(
      Callback{id, name, help, type, std::move(label_names), std::move(collect)});
  Entry entry{type};
  entry.callback = callback.get();
  entries_.emplace(name, entry);
  order_.push_back(name);
  callbacks_.emplace(id, std::move(callback));
  return id;
}

int Registry::AddCallback(const std::string& name, const std::string& help, Type type,
                          std::function<double()> value) {
  return AddCallback(name, help, type, {}, [value = std::move(value)] {
    return std::vector<Sample>{{{}, value()}};
  });
}

void Registry::RemoveCallback(int id) {
  std::lock_guard lock(mu_);
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;
  const std::string name = it->second->name;
  entries_.erase(name);
  order_.erase(std::remove(order_.begin(), order_.end(), name), order_.end());
  callbacks_.erase(it);
}

std::string Registry::Render() const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mu_);
  for (const auto& name : order_) {
    const Entry& entry = entries_.at(name);
    if (entry.counter != nullptr) {
      entry.counter->Render(out);
    } else if (entry.gauge != nullptr) {
      entry.gauge->Render(out);
    } else if (entry.histogram != nullptr) {
      entry.histogram->Render(out);
    } else if (entry.callback != nullptr) {
      const Callback& cb = *entry.callback;
      Header(out, cb.name, cb.help, cb.type);
      for (const auto& sample : cb.collect()) {
        if (sample.label_values.size() != cb.label_names.size()) continue;
        SampleLine(out, cb.name, cb.label_names, sample.label_values, "", "",
                   FormatValue(sample.value));
      }
    }
  }
  return out;
}

}  // namespace csms::metrics
