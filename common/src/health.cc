#include "csms/common/health.h"

#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <pqxx/pqxx>

#include "csms/common/log.h"
#include "csms/common/metrics.h"

namespace csms {

HealthWatcher::HealthWatcher(std::string what, Probe probe, Apply apply,
                             std::chrono::milliseconds interval, const char* component)
    : what_(std::move(what)),
      probe_(std::move(probe)),
      apply_(std::move(apply)),
      interval_(interval),
      component_(component) {
  thread_ = std::thread([this] { Loop(); });
}

HealthWatcher::~HealthWatcher() { Stop(); }

void HealthWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string HealthWatcher::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void HealthWatcher::Loop() {
  auto& up =
      metrics::Registry::Default()
          .AddGauge("csms_dependency_up",
                    "1 while the dependency answers its health probe, else 0.", {"dependency"})
          .Labels({what_});
  bool first = true;
  bool previous = false;
  for (;;) {
    std::string error;
    bool ok = false;
    try {
      ok = probe_(&error);
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard lock(mu_);
      last_error_ = ok ? std::string() : error;
    }
    healthy_ = ok;
    up.Set(ok ? 1 : 0);
    if (first || ok != previous) {
      if (ok) {
        if (!first) CSMS_LOG(kInfo, component_) << what_ << " reachable again: serving";
      } else {
        CSMS_LOG(kWarn, component_)
            << what_ << " unreachable (" << log::Sanitize(error, 300) << "): health NOT_SERVING";
      }
      apply_(ok);
      previous = ok;
      first = false;
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

std::string WithConnectTimeouts(const std::string& url, std::chrono::seconds timeout) {
  const std::string seconds = std::to_string(std::max<int64_t>(1, timeout.count()));
  const std::string millis = std::to_string(std::max<int64_t>(1, timeout.count()) * 1000);
  const bool uri = url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
  std::string out = url;
  auto add = [&](const std::string& key, const std::string& value) {
    if (url.find(key + "=") != std::string::npos) return;  // the operator's choice wins
    if (uri) {
      out += out.find('?') == std::string::npos ? '?' : '&';
    } else if (!out.empty()) {
      out += ' ';
    }
    out += key + "=" + value;
  };
  add("connect_timeout", seconds);
  add("tcp_user_timeout", millis);
  return out;
}

HealthWatcher::Probe PostgresProbe(const std::string& url, std::chrono::seconds timeout) {
  struct State {
    std::string url;
    std::string statement_timeout;
    std::unique_ptr<pqxx::connection> conn;
  };
  auto state = std::make_shared<State>();
  state->url = WithConnectTimeouts(url, timeout);
  state->statement_timeout = std::to_string(timeout.count() * 1000);
  return [state](std::string* error) {
    try {
      if (!state->conn || !state->conn->is_open()) {
        state->conn.reset();
        state->conn = std::make_unique<pqxx::connection>(state->url);
        pqxx::nontransaction setup(*state->conn);
        setup.exec("SET statement_timeout = " + state->statement_timeout);
      }
      pqxx::nontransaction txn(*state->conn);
      txn.exec("SELECT 1");
      return true;
    } catch (const std::exception& e) {
      state->conn.reset();  // reconnect on the next probe
      *error = e.what();
      return false;
    }
  };
}

HealthWatcher::Apply GrpcHealthApplier(grpc::Server* server, std::vector<std::string> names) {
  return [server, names = std::move(names)](bool healthy) {
    auto* health = server->GetHealthCheckService();
    if (health == nullptr) return;
    health->SetServingStatus(healthy);
    for (const auto& name : names) health->SetServingStatus(name, healthy);
  };
}

}  // namespace csms
