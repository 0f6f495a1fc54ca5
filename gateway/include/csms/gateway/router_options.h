#pragma once

namespace csms::gateway {

struct RouterOptions {
  bool strict = false;  // refuse the seed simulator's dialect
  // Check every inbound payload, and every answer, against the OCA 2.0.1 JSON schemas (off only
  // to measure).
  bool validate_schemas = true;
  // Sent with Pending when control cannot be reached during a BootNotification.
  int backend_down_retry_interval_s = 10;
  // Control answers Rejected to the BootNotification of a charger that is not provisioned.
  bool require_provisioning = false;
};

}  // namespace csms::gateway
