#pragma once

#include "csms/common/pg.h"
#include "csms/control/alert_store.h"
#include "csms/control/charging_profile_store.h"
#include "csms/control/command_log_store.h"
#include "csms/control/credential_store.h"
#include "csms/control/device_model_store.h"
#include "csms/control/event_log_store.h"
#include "csms/control/firmware_job_store.h"
#include "csms/control/log_upload_store.h"
#include "csms/control/message_limits.h"
#include "csms/control/migrations.h"
#include "csms/control/registry_store.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/station_store.h"
#include "csms/control/token_store.h"
#include "csms/control/webhook_store.h"

namespace csms::control {

// Control's data, one store per aggregate, all on one pool. The pool's database must have
// ControlMigrations() applied.
struct ControlStores {
  explicit ControlStores(pg::Pool& pool)
      : registry(pool),
        stations(pool),
        credentials(pool),
        remote_starts(pool),
        charging_profiles(pool),
        command_log(pool),
        message_limits(pool),
        events(pool),
        alerts(pool),
        webhooks(pool),
        device_model(pool),
        firmware(pool),
        log_uploads(pool),
        tokens(pool) {}

  RegistryStore registry;
  StationStore stations;
  CredentialStore credentials;
  RemoteStartStore remote_starts;
  ChargingProfileStore charging_profiles;
  CommandLogStore command_log;
  MessageLimitsStore message_limits;
  EventLogStore events;
  AlertStore alerts;
  WebhookStore webhooks;
  DeviceModelStore device_model;
  FirmwareJobStore firmware;
  LogUploadStore log_uploads;
  TokenStore tokens;
};

}  // namespace csms::control
