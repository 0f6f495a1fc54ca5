#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/v1/reservations.pb.h"

// Reservations (OCPP 2.0.1 H01-H04; migration 0014): what the CSMS reserved at which charger,
// and how each reservation ended. reservations.proto describes the states.
namespace csms::control {

// ---- The state machine (pure).
// Open: the charger may hold the reservation (requested, active, failed); a use, a status
// update, a cancellation or the expiry sweep may still end it. Every other state is final.
bool IsOpenReservation(std::string_view state);
// Listed as active: requested or active (and not past expires_at, which the SQL checks).
bool IsActiveReservation(std::string_view state);
// The state the charger's ReserveNow answer leads to: active for Accepted, else rejected.
std::string StateAfterReserveAnswer(std::string_view status);
// The state after a ReservationStatusUpdate (Expired, Removed): expired or removed when the
// reservation is open, else unchanged (an update for one already used or cancelled is
// tolerated, DIGEST-2 §3.2).
std::string StateAfterStatusUpdate(std::string_view state, std::string_view update);

struct NewReservation {
  std::string charger_id;
  std::optional<int32_t> evse_id;  // nullopt: any EVSE
  std::string id_token, token_type;
  std::optional<std::string> group_id_token, group_type;  // both or neither
  TimePoint expires_at;
  std::string requested_by;
};

// A TransactionEvent that carried reservationId.
struct ReservationUse {
  std::string charger_id;
  int32_t reservation_id = 0;
  std::string transaction_id;
};

class ReservationStore {
 public:
  explicit ReservationStore(pg::Pool& pool) : pool_(pool) {}

  // Writes the reservation (state requested) with a fresh id from reservation_id_seq.
  v1::Reservation Create(const NewReservation& reservation);
  // The charger's answer to ReserveNow (StateAfterReserveAnswer) while still requested.
  v1::Reservation Answered(int32_t reservation_id, std::string_view status);
  // ReserveNow got no usable answer: failed, while still requested.
  v1::Reservation CallFailed(int32_t reservation_id, const std::string& detail);
  // CancelReservation was Accepted: cancelled, while open.
  v1::Reservation Cancelled(int32_t reservation_id, const std::string& by);

  std::optional<v1::Reservation> Get(const std::string& charger_id, int32_t reservation_id);

  struct Page {
    std::vector<v1::Reservation> reservations;
    std::string next_cursor;
  };
  // Newest first; `charger_id` "" for all chargers; `active` true: requested or active and not
  // past expires_at, false: the others. Throws std::invalid_argument for a bad cursor.
  Page List(const std::string& charger_id, std::optional<bool> active, int limit,
            const std::string& cursor);

  // A ReservationStatusUpdate from the charger (StateAfterStatusUpdate); nullopt when the
  // charger has no reservation with that id.
  std::optional<v1::Reservation> ApplyStatusUpdate(const std::string& charger_id,
                                                   int32_t reservation_id, std::string_view update);

  // The CSMS's own expiry (H04 advice): open reservations past expires_at become expired.
  // Returns how many.
  int64_t ExpireDue();

  // The EVSE ids the CSMS knows for the charger: those its StatusNotifications named
  // (connectors) and those of its stored device model (EVSE components and variables).
  std::set<int32_t> KnownEvses(const std::string& charger_id);

  // In the batch's transaction (registry_batch.cc): each TransactionEvent with reservationId
  // ends that reservation `used` by its transaction, once (a repeated event changes nothing).
  static void ApplyUses(pqxx::work& txn, const std::vector<ReservationUse>& uses);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
