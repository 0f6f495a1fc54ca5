#include "csms/gateway/live_feed.h"

#include <nlohmann/json.hpp>

#include "csms/common/log.h"
#include "csms/gateway/dashboard_json.h"

namespace csms::gateway {

using nlohmann::json;

namespace {
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

LiveFeed::LiveFeed(std::shared_ptr<grpc::Channel> control, Options options)
    : control_(control::v1::ControlService::NewStub(control)), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

LiveFeed::~LiveFeed() { Stop(); }

void LiveFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    subscribers_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t LiveFeed::Subscribe(Sink sink) {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    subscribers_[id] = Subscriber{std::move(sink), false};
    wake_ = true;  // a new client gets its snapshot from a fresh poll at once
  }
  cv_.notify_all();
  return id;
}

void LiveFeed::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

size_t LiveFeed::subscribers() {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

std::string LiveFeed::FormatEvent(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

void LiveFeed::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (subscribers_.empty()) {
      // Nobody listens: no polling, and the next client starts from a fresh snapshot.
      have_state_ = false;
      cv_.wait(lock, [&] { return stopping_ || !subscribers_.empty(); });
      continue;
    }
    wake_ = false;
    lock.unlock();
    Poll();
    lock.lock();
    cv_.wait_for(lock, options_.interval, [&] { return stopping_ || wake_; });
  }
}

void LiveFeed::Poll() {
  auto deadline = std::chrono::system_clock::now() + options_.rpc_timeout;
  control::v1::ListChargersResponse chargers;
  control::v1::ListStationsResponse stations;
  grpc::Status status;
  {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    status = control_->ListChargers(&context, {}, &chargers);
  }
  if (status.ok()) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    status = control_->ListStations(&context, {}, &stations);
  }

  std::vector<std::string> events;
  if (!status.ok()) {
    const bool changed = control_ok_;
    if (changed) {
      CSMS_LOG(kWarn, "gateway") << "live feed: control unreachable: "
                                 << log::Sanitize(status.error_message());
    }
    control_ok_ = false;
    // Clients keep their last picture; after the outage each gets a full snapshot again.
    have_state_ = false;
    const std::string down = FormatEvent(
        "backend", Dump(json{{"control", "unavailable"}, {"message", status.error_message()}}));
    std::lock_guard lock(mu_);
    std::vector<uint64_t> gone;
    for (auto& [id, s] : subscribers_) {
      // Told once: at the change, or on joining during the outage.
      if ((changed || !s.told_down) && !s.sink(down)) gone.push_back(id);
      s.told_down = true;
      s.has_snapshot = false;
    }
    for (uint64_t id : gone) subscribers_.erase(id);
    return;
  }
  control_ok_ = true;

  std::map<std::string, std::string> next;
  json charger_list = json::array();
  for (const auto& c : chargers.chargers()) {
    json j = LiveChargerJson(c);
    std::string dumped = Dump(j);
    auto it = chargers_.find(c.charger_id());
    if (have_state_ && (it == chargers_.end() || it->second != dumped)) {
      events.push_back(FormatEvent("charger", dumped));
    }
    next[c.charger_id()] = std::move(dumped);
    charger_list.push_back(std::move(j));
  }
  json station_list = json::array();
  for (const auto& s : stations.stations()) station_list.push_back(StationJson(s));
  std::string stations_dump = Dump(json{{"stations", station_list}});
  if (have_state_ && stations_dump != stations_) {
    events.push_back(FormatEvent("stations", stations_dump));
  }
  chargers_ = std::move(next);
  stations_ = std::move(stations_dump);
  have_state_ = true;

  const std::string snapshot =
      FormatEvent("snapshot", Dump(json{{"chargers", charger_list}, {"stations", station_list}}));
  if (std::chrono::steady_clock::now() - last_keepalive_ >= options_.keepalive) {
    last_keepalive_ = std::chrono::steady_clock::now();
    events.push_back(": keep-alive\n\n");
  }
  Broadcast(events, snapshot);
}

void LiveFeed::Broadcast(const std::vector<std::string>& events, const std::string& snapshot) {
  static const std::string kBackendOk = FormatEvent("backend", Dump(json{{"control", "ok"}}));
  std::lock_guard lock(mu_);
  std::vector<uint64_t> gone;
  for (auto& [id, s] : subscribers_) {
    bool alive = true;
    if (!s.has_snapshot) {
      if (s.told_down) alive = s.sink(kBackendOk);
      alive = alive && s.sink(snapshot);
      s.has_snapshot = true;
      s.told_down = false;
    } else {
      for (const auto& e : events) alive = alive && s.sink(e);
    }
    if (!alive) gone.push_back(id);
  }
  for (uint64_t id : gone) subscribers_.erase(id);
}

}  // namespace csms::gateway
