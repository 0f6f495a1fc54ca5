#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"

// What raises an alert, as pure decisions: the stores call these where the cause is written
// (alert_store.h) and raise what they return in the same transaction.
namespace csms::control {

// The kinds of alert. A new kind is one value here (its name in AlertKindName) and one rule
// below, called where its cause is stored; webhooks subscribe to it by name.
enum class AlertKind {
  kConnectorFaulted,    // a connector's status going into Faulted
  kSecurityEvent,       // a security event stored in the event log (the charger's or the CSMS's)
  kChargerOffline,      // silent for N heartbeat intervals, once per episode
  kChargerOnline,       // its next message after a charger_offline alert
  kFirmwareFailed,      // a firmware job ending failed (download, signature, installation, CALL)
  kSessionNeedsReview,  // billing did not bill a reading of a session (implausible energy)
  kWebhookTest,         // TestWebhook; goes only to the webhook tested
};

const char* AlertKindName(AlertKind kind);
std::optional<AlertKind> ParseAlertKind(std::string_view name);
// The names a webhook may subscribe to: every kind but the test.
const std::vector<std::string>& SubscribableAlertKinds();

// An alert about to be raised.
struct AlertDraft {
  AlertKind kind = AlertKind::kConnectorFaulted;
  std::string charger_id;  // "" for none (the test)
  TimePoint occurred_at;
  nlohmann::json data = nlohmann::json::object();
  // charger_offline / charger_online: goes to the webhooks whose offline_intervals is this.
  int offline_intervals = 0;
  // The test alert: to this webhook only, whatever its kinds.
  std::optional<int64_t> webhook_id;
};

// ---- connector_faulted ----
// A status report entering Faulted: `previous` is the connector's stored status before it
// (nullopt: none stored yet, which counts as not Faulted). Faulted → Faulted raises nothing,
// so a charger repeating its status (every boot does) is not news.
bool EntersFaulted(const std::optional<std::string>& previous, const std::string& status);
// The alert for a stored status report that EntersFaulted; `source` is the message it came in
// (StatusNotification, or NotifyEvent for Connector.AvailabilityState).
std::optional<AlertDraft> ConnectorFaultedAlert(const std::string& charger_id, int evse_id,
                                                int connector_id, const std::string& status,
                                                TimePoint at,
                                                const std::optional<std::string>& previous,
                                                const std::string& source);

// ---- session_needs_review ----
// A TransactionEvent that made its session need review (billing's review_raised).
std::optional<AlertDraft> SessionNeedsReviewAlert(const v1::TransactionEventReport& report,
                                                  TimePoint at);

// ---- security_event ----
// For an event the event log stored (a repeat it dropped is never passed here): the charger's
// SecurityEventNotification or the CSMS's own CsmsSecurityEvent. nullopt for other kinds.
std::optional<AlertDraft> SecurityEventAlert(const v1::ChargerEvent& event, int64_t event_id);

// ---- charger_offline / charger_online ----
// Silent for N heartbeat intervals plus `grace` since `last_seen` at `now`, with no episode
// open for N, and the silence younger than `lookback` (a charger gone for longer is not news any
// more: a webhook created today does not hear of chargers decommissioned last year). The grace
// covers a heartbeat that is a little late and the gateway's last-seen reports (once a second):
// without it N = 1 would flap with every heartbeat.
bool ShouldRaiseOffline(TimePoint last_seen, bool episode_open, TimePoint now,
                        std::chrono::milliseconds heartbeat, int n, std::chrono::milliseconds grace,
                        std::chrono::milliseconds lookback);
AlertDraft ChargerOfflineAlert(const std::string& charger_id, TimePoint last_seen,
                               std::chrono::milliseconds heartbeat, int n);
// A message seen at `seen` ends an open episode whose silence began at `last_seen`; an older
// report arriving late does not.
bool EndsOfflineEpisode(bool episode_open, TimePoint last_seen, TimePoint seen);
AlertDraft ChargerOnlineAlert(const std::string& charger_id, TimePoint last_seen, TimePoint seen,
                              int n);

// ---- firmware_failed ----
// A firmware job whose outcome just turned `failed`: `state` is what failed it (DownloadFailed,
// InvalidSignature, InstallationFailed, InstallVerificationFailed, or Requested when the
// UpdateFirmware CALL got no usable answer), `detail` the CSMS's note.
AlertDraft FirmwareFailedAlert(const v1::FirmwareJob& job, TimePoint at);

// ---- the test ----
AlertDraft WebhookTestAlert(int64_t webhook_id, TimePoint now, const std::string& requested_by);

// The body a webhook receives, identical on every attempt:
//   {"id":uid,"kind","charger_id","station_id"(or null),"occurred_at","raised_at","data":{...}}
std::string AlertBody(const std::string& uid, const AlertDraft& draft,
                      const std::optional<std::string>& station_id, TimePoint raised_at);

// A random (version 4) UUID, from the OpenSSL CSPRNG.
std::string RandomUuid();

}  // namespace csms::control
