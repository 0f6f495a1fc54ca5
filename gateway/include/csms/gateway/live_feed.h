#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csms/control/v1/control.grpc.pb.h"

namespace csms::gateway {

// The dashboard's live data as Server-Sent Events. While at least one client listens, polls
// control's ListChargers and ListStations every `interval` and pushes what changed. Polling
// (rather than a push from control) stays right with any number of control replicas and
// gateways: each gateway asks whichever replica answers, and all of them read one database.
//
// Events (each `data` is one JSON line):
//   snapshot  {"chargers":[...],"stations":[...]}  first, and again after control was unreachable
//   charger   one charger (LiveChargerJson) whose state changed
//   stations  {"stations":[...]} when any station changed
//   backend   {"control":"ok"|"unavailable","message":...} when control's reachability changes
// and a comment line every `keepalive` so that dead clients are found and proxies keep the
// stream open.
class LiveFeed {
 public:
  struct Options {
    std::chrono::milliseconds interval{500};
    std::chrono::milliseconds keepalive{15000};
    std::chrono::milliseconds rpc_timeout{2000};
  };
  // Takes one formatted event; false when the client is gone (it is then dropped).
  using Sink = std::function<bool(std::string event)>;

  LiveFeed(std::shared_ptr<grpc::Channel> control, Options options);
  ~LiveFeed();

  uint64_t Subscribe(Sink sink);
  void Unsubscribe(uint64_t id);
  size_t subscribers();
  void Stop();

  // "event: <name>\ndata: <data>\n\n".
  static std::string FormatEvent(const std::string& name, const std::string& data);

 private:
  struct Subscriber {
    Sink sink;
    bool has_snapshot = false;
    bool told_down = false;  // was sent "control unavailable" since its last snapshot
  };
  void Loop();
  void Poll();
  // Sends `events` to the subscribers that have a snapshot and `snapshot` to the others. Drops
  // the ones that are gone.
  void Broadcast(const std::vector<std::string>& events, const std::string& snapshot);

  std::unique_ptr<control::v1::ControlService::Stub> control_;
  Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_id_ = 1;
  bool wake_ = false;
  bool stopping_ = false;

  // Poll thread only.
  std::map<std::string, std::string> chargers_;  // id -> LiveChargerJson dump
  std::string stations_;                         // {"stations":[...]} dump
  bool control_ok_ = true;                       // as of the last poll
  bool have_state_ = false;
  std::chrono::steady_clock::time_point last_keepalive_;

  std::thread thread_;
};

}  // namespace csms::gateway
