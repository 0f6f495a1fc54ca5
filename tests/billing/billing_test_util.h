#pragma once

// Events and a clock for the billing tests.

#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/ocpp/v1/events.pb.h"

namespace csms::billing::testing {

using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED;
using ocpp::v1::TransactionEvent;

inline TimePoint At(const std::string& rfc3339) { return ParseRfc3339(rfc3339).value(); }

class FixedClock : public Clock {
 public:
  explicit FixedClock(TimePoint now) : now_(now) {}
  TimePoint Now() const override { return now_; }

 private:
  TimePoint now_;
};

// An OCPP 2.0.1 event with seqNo `seq`; `register_wh` < 0 means no register reading.
inline TransactionEvent MakeEvent(ocpp::v1::TransactionEventType type, const std::string& charger,
                                  const std::string& transaction_id, int64_t seq, TimePoint time,
                                  double register_wh = -1) {
  TransactionEvent event;
  event.set_charger_id(charger);
  event.set_transaction_id(transaction_id);
  event.set_event_type(type);
  event.set_seq_no(seq);
  event.set_order_key(seq);
  event.set_dedup_key("seq:" + std::to_string(seq));
  *event.mutable_timestamp() = ToProto(time);
  *event.mutable_received_at() = ToProto(time);
  if (register_wh >= 0) event.set_energy_register_wh(register_wh);
  event.set_dialect(ocpp::v1::DIALECT_OCPP201);
  event.set_raw_payload_json(R"({"seqNo":)" + std::to_string(seq) + "}");
  return event;
}

// The seed's session: Started at `start` (register 1000 Wh, token user_123), Updated 10 min
// later (9500 Wh), Ended 30 min later (26500 Wh): 25.5 kWh, 3825 KRW at 150 KRW/kWh.
inline std::vector<TransactionEvent> SeedSession(const std::string& charger,
                                                 const std::string& transaction_id,
                                                 TimePoint start) {
  using std::chrono::minutes;
  std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, charger, transaction_id, 0, start, 1000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, charger, transaction_id, 1, start + minutes(10),
                9500),
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, charger, transaction_id, 2, start + minutes(30),
                26500)};
  events[0].set_id_token("user_123");
  events[0].set_trigger_reason("Authorized");
  events[0].set_charging_state("Charging");
  events[2].set_trigger_reason("StopAuthorized");
  return events;
}

}  // namespace csms::billing::testing
