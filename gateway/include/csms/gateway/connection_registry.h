#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "csms/gateway/station_context.h"

namespace csms::gateway {

// The outcome of a CALL the CSMS sent to a charger.
struct CallOutcome {
  // kInvalidReply: a CALLRESULT that fails its schema (error_description says how).
  enum class Kind { kResult, kError, kInvalidReply, kTimeout, kClosed, kOverloaded };
  Kind kind = Kind::kClosed;
  std::string payload_json;  // CALLRESULT payload, or CALLERROR details
  std::string error_code;    // CALLERROR
  std::string error_description;
};

// A live charger connection as the rest of the gateway sees it (no Beast types here).
class ChargerConnection {
 public:
  virtual ~ChargerConnection() = default;
  virtual const std::string& charger_id() const = 0;
  virtual const std::string& connection_id() const = 0;
  // Queues a CALL; calls go out one at a time and `done` runs once, on any thread.
  virtual void SendCall(std::string action, std::string payload_json,
                        std::chrono::milliseconds timeout,
                        std::function<void(CallOutcome)> done) = 0;
  // Closes the WebSocket with the given close code (e.g. 1001 going away, 4000 replaced).
  virtual void Close(uint16_t code, std::string reason) = 0;
  // What the router knows of the charger on this connection (null where there is none).
  virtual std::shared_ptr<StationContext> station() const { return nullptr; }
};

// Which connection currently holds each charger on this gateway. A new connection for a charger
// replaces the old one; the old one's late removal cannot unregister the new one.
class ConnectionRegistry {
 public:
  // Registers `connection`; returns the connection it replaced, if any.
  std::shared_ptr<ChargerConnection> Register(const std::shared_ptr<ChargerConnection>& connection);
  // Removes the entry only if it still belongs to this connection id.
  bool Unregister(const std::string& charger_id, const std::string& connection_id);
  std::shared_ptr<ChargerConnection> Find(const std::string& charger_id) const;
  std::vector<std::shared_ptr<ChargerConnection>> All() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<ChargerConnection>> by_charger_;
};

}  // namespace csms::gateway
