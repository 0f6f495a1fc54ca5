// csms-charger-sim: simulated OCPP 2.0.1 charging stations, replacing the seed's C# simulator.
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "csms/charger_sim/charger.h"
#include "csms/charger_sim/sim_util.h"
#include "csms/common/config.h"
#include "csms/common/log.h"
#include "ws_client.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "csms-charger-sim: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  csms::Config config = csms::ParseConfigOrExit(
      argc, argv, "csms-charger-sim",
      "Simulated OCPP 2.0.1 charging stations (one WebSocket each) for a CSMS.",
      {
          {"url", "CSMS_SIM_URL", "ws://127.0.0.1:9000/ocpp",
           "CSMS WebSocket endpoint, ws:// or wss:// (TLS); the station id is appended as the "
           "last path segment"},
          {"id", "CSMS_SIM_ID", "emart_jeju_01", "station id (with --count > 1: the first id)"},
          {"id-prefix", "CSMS_SIM_ID_PREFIX", "",
           "with --count: ids are <prefix>01, <prefix>02, ...; empty = taken from --id"},
          {"count", "CSMS_SIM_COUNT", "1", "number of chargers to run in this process"},
          {"dialect", "CSMS_SIM_DIALECT", "standard",
           "TransactionEvent body: standard (OCPP 2.0.1) or seed (the seed C# simulator's)"},
          {"vendor", "CSMS_SIM_VENDOR", "ABB", "BootNotification vendorName (max 50)"},
          {"model", "CSMS_SIM_MODEL", "Terra 53", "BootNotification model (max 20)"},
          {"firmware-version", "CSMS_SIM_FIRMWARE_VERSION", "1.0.0",
           "BootNotification firmwareVersion (max 50): a new one makes the CSMS fetch the device "
           "model again"},
          {"max-power-kw", "CSMS_SIM_MAX_POWER_KW", "100", "hardware maximum power in kW"},
          {"meter-interval", "CSMS_SIM_METER_INTERVAL", "5",
           "seconds between TransactionEvent Updated (0 = none)"},
          {"energy-speedup", "CSMS_SIM_ENERGY_SPEEDUP", "1",
           "multiplies the energy delivered per second (demos, tests)"},
          {"meter-start-wh", "CSMS_SIM_METER_START_WH", "0",
           "energy register at start-up in Wh (standard dialect)"},
          {"seed-price-per-kwh", "CSMS_SIM_SEED_PRICE_PER_KWH", "0",
           "seed dialect: add transactionData.totalCost at this price (0 = leave it out)"},
          {"run-seconds", "CSMS_SIM_RUN_SECONDS", "0", "stop cleanly after this time (0 = never)"},
          {"reconnect-delay-ms", "CSMS_SIM_RECONNECT_DELAY_MS", "2000",
           "base wait before reconnecting (doubles per failure, plus jitter)"},
          {"call-timeout", "CSMS_SIM_CALL_TIMEOUT", "30", "seconds to wait for a CALL's answer"},
          {"password", "CSMS_SIM_PASSWORD", "",
           "HTTP Basic auth password (user = station id); empty = no Authorization header"},
          {"password-file", "CSMS_SIM_PASSWORD_FILE", "",
           "instead of --password: file whose first line is the password; rewritten (0600) when "
           "the CSMS changes it with SetVariables (A01). {id} in the path stands for the station "
           "id and is required with --count > 1"},
          {"ca-file", "CSMS_SIM_CA_FILE", "",
           "wss: PEM CA certificate(s) the CSMS certificate must chain to (its name is checked "
           "against the URL's host); empty = the system's trusted CAs"},
          {"client-cert", "CSMS_SIM_CLIENT_CERT", "",
           "wss: PEM client certificate (chain) for OCPP security profile 3; {id} in the path "
           "stands for the station id. Its CN becomes the BootNotification serialNumber"},
          {"client-key", "CSMS_SIM_CLIENT_KEY", "",
           "wss: PEM private key of --client-cert; {id} as there"},
          {"report-items-per-part", "CSMS_SIM_REPORT_ITEMS_PER_PART", "20",
           "GetBaseReport / GetReport: variables per NotifyReport part (1 to 10000)"},
          {"report-order", "CSMS_SIM_REPORT_ORDER", "normal",
           "order of the NotifyReport parts: normal (seqNo 0 first) or reverse (last first, a "
           "test of the CSMS)"},
          {"extra-variables", "CSMS_SIM_EXTRA_VARIABLES", "0",
           "synthetic read-only variables SimExtra.Var1..VarN in the device model (0 to 100000), "
           "for large reports"},
          {"log-file", "CSMS_SIM_LOG_FILE", "",
           "GetLog: upload this file's bytes (read at each upload); empty = generated text of "
           "--log-size-bytes"},
          {"log-size-bytes", "CSMS_SIM_LOG_SIZE_BYTES", "65536",
           "GetLog without --log-file: bytes of generated log text (0 to 268435456; 0 = no log, "
           "GetLog is Rejected)"},
          {"log-upload-method", "CSMS_SIM_LOG_UPLOAD_METHOD", "put",
           "GetLog upload to the remoteLocation (http:// or https://): put (the raw log) or post "
           "(multipart/form-data, one part name=\"file\" with the filename)"},
      });
  if (!csms::log::SetLevel(config.Get("log-level"))) {
    return Fail("--log-level must be debug, info, warn or error");
  }

  csms::sim::ClientOptions client;
  std::vector<csms::sim::ChargerOptions> chargers;
  try {
    std::string error;
    auto url = csms::sim::ParseWsUrl(config.Get("url"), &error);
    if (!url) return Fail("--url: " + error);
    client.url = *url;
    client.password = config.Get("password");
    client.password_file = config.Get("password-file");
    if (!client.password.empty() && !client.password_file.empty()) {
      return Fail("--password and --password-file exclude each other");
    }
    client.tls.ca_file = config.Get("ca-file");
    client.tls.client_cert = config.Get("client-cert");
    client.tls.client_key = config.Get("client-key");
    if (!client.url.tls && (!client.tls.ca_file.empty() || !client.tls.client_cert.empty() ||
                            !client.tls.client_key.empty())) {
      return Fail("--ca-file, --client-cert and --client-key need a wss:// --url");
    }
    if (client.tls.client_cert.empty() != client.tls.client_key.empty()) {
      return Fail("--client-cert and --client-key go together");
    }
    client.log.file = config.Get("log-file");
    const int log_size = config.GetInt("log-size-bytes");
    if (log_size < 0 || log_size > 268435456)
      return Fail("--log-size-bytes must be 0 to 268435456");
    client.log.size_bytes = static_cast<size_t>(log_size);
    auto log_method = csms::sim::ParseLogUploadMethod(config.Get("log-upload-method"));
    if (!log_method) return Fail("--log-upload-method must be put or post");
    client.log.method = *log_method;
    if (!client.log.file.empty() && !std::ifstream(client.log.file, std::ios::binary)) {
      return Fail("--log-file " + client.log.file + ": cannot be read");
    }
    client.reconnect_delay = std::chrono::milliseconds(config.GetInt("reconnect-delay-ms"));
    client.run_time = std::chrono::seconds(config.GetInt("run-seconds"));
    if (client.reconnect_delay.count() < 0 || client.run_time.count() < 0) {
      return Fail("--reconnect-delay-ms and --run-seconds must be >= 0");
    }

    csms::sim::ChargerOptions base;
    auto dialect = csms::sim::ParseDialect(config.Get("dialect"));
    if (!dialect) return Fail("--dialect must be standard or seed");
    base.dialect = *dialect;
    base.vendor = config.Get("vendor");
    base.model = config.Get("model");
    base.firmware_version = config.Get("firmware-version");
    if (base.firmware_version.size() > 50) return Fail("--firmware-version: at most 50 chars");
    if (base.vendor.empty() || base.vendor.size() > 50) return Fail("--vendor: 1 to 50 chars");
    if (base.model.empty() || base.model.size() > 20) return Fail("--model: 1 to 20 chars");
    base.max_power_w = config.GetDouble("max-power-kw") * 1000.0;
    base.meter_interval = std::chrono::seconds(config.GetInt("meter-interval"));
    base.energy_speedup = config.GetDouble("energy-speedup");
    base.meter_start_wh = config.GetDouble("meter-start-wh");
    base.seed_price_per_kwh = config.GetDouble("seed-price-per-kwh");
    base.call_timeout = std::chrono::seconds(config.GetInt("call-timeout"));
    base.report_items_per_part = config.GetInt("report-items-per-part");
    if (base.report_items_per_part < 1 || base.report_items_per_part > 10000) {
      return Fail("--report-items-per-part must be 1 to 10000");
    }
    auto report_order = csms::sim::ParseReportOrder(config.Get("report-order"));
    if (!report_order) return Fail("--report-order must be normal or reverse");
    base.report_order = *report_order;
    base.has_log = !client.log.file.empty() || client.log.size_bytes > 0;
    base.extra_variables = config.GetInt("extra-variables");
    if (base.extra_variables < 0 || base.extra_variables > 100000) {
      return Fail("--extra-variables must be 0 to 100000");
    }
    // SecurityCtrlr.SecurityProfile: what this connection is.
    if (!client.tls.client_cert.empty()) {
      base.security_profile = 3;
    } else if (client.url.tls) {
      base.security_profile = 2;
    } else if (!client.password.empty() || !client.password_file.empty()) {
      base.security_profile = 1;
    }
    if (base.max_power_w <= 0 || base.energy_speedup <= 0 || base.meter_interval.count() < 0 ||
        base.meter_start_wh < 0 || base.call_timeout.count() <= 0) {
      return Fail(
          "--max-power-kw, --energy-speedup and --call-timeout must be > 0; "
          "--meter-interval and --meter-start-wh >= 0");
    }

    const int count = config.GetInt("count");
    if (count < 1 || count > 10000) return Fail("--count must be 1 to 10000");
    // One station's change must not overwrite the others' password.
    if (count > 1 && !client.password_file.empty() &&
        client.password_file.find("{id}") == std::string::npos) {
      return Fail("--password-file needs {id} in the path with --count > 1");
    }
    for (const std::string& id :
         csms::sim::ExpandStationIds(config.Get("id"), config.Get("id-prefix"), count)) {
      std::string why;
      if (!csms::sim::IsValidStationId(id, &why)) return Fail("station id '" + id + "': " + why);
      csms::sim::ChargerOptions options = base;
      options.station_id = id;
      chargers.push_back(std::move(options));
    }
  } catch (const std::invalid_argument& e) {
    return Fail(e.what());
  }

  CSMS_LOG(kInfo, "charger-sim") << "starting " << chargers.size() << " charger(s) ("
                                 << chargers.front().station_id
                                 << (chargers.size() > 1 ? ".." + chargers.back().station_id : "")
                                 << "), dialect " << csms::sim::DialectName(chargers[0].dialect)
                                 << ", CSMS " << csms::sim::UrlText(client.url)
                                 << (client.tls.client_cert.empty() ? "" : " (client certificate)");
  return csms::sim::RunChargers(chargers, client);
}
