#include "csms/gateway/readiness.h"

#include <nlohmann/json.hpp>

#include "csms/common/grpc_async.h"

namespace csms::gateway {

std::string Readiness::Result::Json() const {
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& [name, state] : states) checks[name] = state;
  return nlohmann::json{{"status", ready ? "ready" : "unavailable"}, {"checks", checks}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Readiness::Readiness(std::vector<Dependency> dependencies, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds cache_for)
    : timeout_(timeout), cache_for_(cache_for) {
  for (auto& dependency : dependencies) {
    auto stub = grpc::health::v1::Health::NewStub(dependency.channel);
    targets_.push_back(Target{std::move(dependency), std::move(stub)});
  }
}

void Readiness::Check(std::function<void(const Result&)> done) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (have_cached_ && now - cached_at_ < cache_for_) {
      Result copy = cached_;
      done(copy);
      return;
    }
  }
  // All dependencies are asked at once; the last answer completes the result.
  struct Pending {
    std::mutex mu;
    Result result;
    size_t remaining;
    std::function<void(const Result&)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = targets_.size();
  pending->done = std::move(done);
  pending->result.ready = true;
  for (const auto& target : targets_)
    pending->result.states.emplace_back(target.dependency.name, "");
  if (targets_.empty()) {
    pending->done(pending->result);
    return;
  }
  for (size_t i = 0; i < targets_.size(); ++i) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(targets_[i].dependency.service);
    auto* stub = targets_[i].stub.get();
    CallUnaryAsync<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>(
        [stub](auto* ctx, auto* req, auto* resp, auto cb) {
          stub->async()->Check(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_,
        [this, pending, i](const grpc::Status& status,
                           const grpc::health::v1::HealthCheckResponse& response) {
          std::string state;
          bool ok = false;
          if (!status.ok()) {
            state = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                        ? "unreachable (no answer in time)"
                        : "unreachable (" + status.error_message() + ")";
          } else if (response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
            state = "SERVING";
            ok = true;
          } else {
            state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
          }
          std::unique_lock lock(pending->mu);
          pending->result.states[i].second = state;
          if (!ok) pending->result.ready = false;
          if (--pending->remaining > 0) return;
          Result result = pending->result;
          lock.unlock();
          {
            std::lock_guard cache_lock(mu_);
            cached_ = result;
            cached_at_ = std::chrono::steady_clock::now();
            have_cached_ = true;
          }
          pending->done(result);
        });
  }
}

}  // namespace csms::gateway
