#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/gateway/backend.h"

// Test doubles shared by the gateway tests.
namespace csms::gateway::testing {

// 2026-11-24T09:15:00Z.
inline TimePoint FixedTime() {
  using namespace std::chrono;
  return time_point_cast<microseconds>(sys_days{year{2026} / 11 / 24}) + hours{9} + minutes{15};
}

class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint now = FixedTime()) : now_(now) {}
  TimePoint Now() const override { return now_; }
  void Set(TimePoint now) { now_ = now; }

 private:
  TimePoint now_;
};

// Records every call; completions are kept so the test decides when (and how) they finish.
class FakeBackend : public Backend {
 public:
  struct Seen {
    std::string charger_id;
    std::string connection_id;
    TimePoint at;
  };

  void StationConnected(const control::v1::StationConnectedRequest& request,
                        Completion<control::v1::StationConnectedResponse> done) override {
    connected.push_back(request);
    connected_done.push_back(std::move(done));
  }
  void StationDisconnected(const control::v1::StationDisconnectedRequest& request) override {
    disconnected.push_back(request);
  }
  void BootNotification(const control::v1::BootNotificationRequest& request,
                        Completion<control::v1::BootNotificationResponse> done) override {
    boots.push_back(request);
    boot_done.push_back(std::move(done));
  }
  void ReportStatus(const control::v1::StatusReport& report) override {
    statuses.push_back(report);
  }
  void StationSeen(const std::string& charger_id, const std::string& connection_id,
                   TimePoint at) override {
    seen.push_back({charger_id, connection_id, at});
  }
  void RecordTransactionEvent(
      const ocpp::v1::TransactionEvent& event,
      Completion<billing::v1::RecordTransactionEventResponse> done) override {
    recorded.push_back(event);
    record_done.push_back(std::move(done));
  }
  void ReportTransactionEvent(const control::v1::TransactionEventReport& report) override {
    tx_reports.push_back(report);
  }
  void RecordChargerEvents(std::vector<control::v1::ChargerEvent> events,
                           Completion<control::v1::ReportResponse> done) override {
    event_calls.push_back(std::move(events));
    event_done.push_back(std::move(done));
  }
  void RecordReportPart(control::v1::ReportPartRequest part,
                        Completion<control::v1::ReportResponse> done) override {
    report_parts.push_back(std::move(part));
    report_part_done.push_back(std::move(done));
  }
  void AuthorizeToken(const control::v1::AuthorizeTokenRequest& request,
                      Completion<control::v1::AuthorizeTokenResponse> done) override {
    authorizations.push_back(request);
    if (authorize_status.empty()) return authorize_done.push_back(std::move(done));
    control::v1::AuthorizeTokenResponse response;
    response.set_status(authorize_status);
    done(grpc::Status::OK, response);
  }
  void RecordReservationStatus(
      const control::v1::RecordReservationStatusRequest& request,
      Completion<control::v1::RecordReservationStatusResponse> done) override {
    reservation_statuses.push_back(request);
    if (!answer_reservation_statuses) return reservation_status_done.push_back(std::move(done));
    control::v1::RecordReservationStatusResponse response;
    response.set_known(true);
    done(grpc::Status::OK, response);
  }
  // Finishes the oldest RecordChargerEvents call not finished yet.
  void FinishEvents(const grpc::Status& status = grpc::Status::OK) {
    auto done = std::move(event_done.at(events_finished++));
    done(status, control::v1::ReportResponse());
  }

  std::vector<control::v1::StationConnectedRequest> connected;
  std::vector<Completion<control::v1::StationConnectedResponse>> connected_done;
  std::vector<control::v1::StationDisconnectedRequest> disconnected;
  std::vector<control::v1::BootNotificationRequest> boots;
  std::vector<Completion<control::v1::BootNotificationResponse>> boot_done;
  std::vector<control::v1::StatusReport> statuses;
  std::vector<Seen> seen;
  std::vector<ocpp::v1::TransactionEvent> recorded;
  std::vector<Completion<billing::v1::RecordTransactionEventResponse>> record_done;
  std::vector<control::v1::TransactionEventReport> tx_reports;
  // One entry per RecordChargerEvents call (all the events of one message).
  std::vector<std::vector<control::v1::ChargerEvent>> event_calls;
  std::vector<Completion<control::v1::ReportResponse>> event_done;
  size_t events_finished = 0;
  std::vector<control::v1::ReportPartRequest> report_parts;
  std::vector<Completion<control::v1::ReportResponse>> report_part_done;
  std::vector<control::v1::AuthorizeTokenRequest> authorizations;
  // Answered at once with this status; "" keeps the completion in authorize_done.
  std::string authorize_status = "Accepted";
  std::vector<Completion<control::v1::AuthorizeTokenResponse>> authorize_done;
  std::vector<control::v1::RecordReservationStatusRequest> reservation_statuses;
  // Stored (OK) at once; false keeps the completion in reservation_status_done.
  bool answer_reservation_statuses = true;
  std::vector<Completion<control::v1::RecordReservationStatusResponse>> reservation_status_done;
};

}  // namespace csms::gateway::testing
