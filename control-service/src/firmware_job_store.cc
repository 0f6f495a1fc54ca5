#include "csms/control/firmware_job_store.h"

#include <map>
#include <utility>

#include "csms/common/pg_sql.h"
#include "csms/control/alert_store.h"

namespace csms::control {
namespace {

bool Final(const FirmwareJobState& job) { return job.outcome != "in_progress"; }

constexpr const char* kJobColumns =
    "id, charger_id, request_id, state, outcome, location,"
    " extract(epoch from retrieve_at)::float8 AS retrieve,"
    " extract(epoch from install_at)::float8 AS install, signed, firmware_version_before,"
    " coalesce(firmware_version_after, '') AS version_after, requested_by,"
    " extract(epoch from created_at)::float8 AS created,"
    " extract(epoch from updated_at)::float8 AS updated, detail";

v1::FirmwareJob JobFromRow(const pqxx::row& row) {
  v1::FirmwareJob j;
  j.set_job_id(row["id"].as<int64_t>());
  j.set_charger_id(row["charger_id"].as<std::string>());
  j.set_request_id(row["request_id"].as<int32_t>());
  j.set_state(row["state"].as<std::string>());
  j.set_outcome(row["outcome"].as<std::string>());
  j.set_location(row["location"].as<std::string>());
  *j.mutable_retrieve_at() = ToProto(pg::FromEpochSeconds(row["retrieve"].as<double>()));
  if (!row["install"].is_null()) {
    *j.mutable_install_at() = ToProto(pg::FromEpochSeconds(row["install"].as<double>()));
  }
  j.set_signed_(row["signed"].as<bool>());
  j.set_firmware_version_before(row["firmware_version_before"].as<std::string>());
  j.set_firmware_version_after(row["version_after"].as<std::string>());
  j.set_requested_by(row["requested_by"].as<std::string>());
  *j.mutable_created_at() = ToProto(pg::FromEpochSeconds(row["created"].as<double>()));
  *j.mutable_updated_at() = ToProto(pg::FromEpochSeconds(row["updated"].as<double>()));
  j.set_detail(row["detail"].as<std::string>());
  return j;
}

std::optional<std::string> OptText(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional(s);
}

}  // namespace

FirmwareJobState OnFirmwareAnswer(const FirmwareJobState& job, std::string_view status) {
  if (Final(job)) return job;
  FirmwareJobState next = job;
  if (status == "Accepted" || status == "AcceptedCanceled") {
    if (job.state == "Requested") next.state = "Accepted";
    return next;
  }
  next.state = std::string(status);
  next.outcome = "rejected";
  return next;
}

FirmwareJobState OnFirmwareStatus(const FirmwareJobState& job, std::string_view status) {
  if (Final(job)) return job;
  FirmwareJobState next = job;
  next.state = std::string(status);
  if (status == "Installed") {
    next.outcome = "installed";
  } else if (status == "DownloadFailed" || status == "InvalidSignature" ||
             status == "InstallationFailed" || status == "InstallVerificationFailed") {
    next.outcome = "failed";
  }
  return next;
}

std::optional<v1::FirmwareJob> FirmwareJobStore::Create(const NewFirmwareJob& job) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<v1::FirmwareJob> {
    // The charger's rows are serialized on its in-progress job (if any), then the unique index
    // decides between two concurrent creators.
    const auto stale_s = std::chrono::duration_cast<std::chrono::seconds>(kFirmwareJobStaleAfter);
    auto active = txn.exec_params(
        "SELECT id, (updated_at < now() - make_interval(secs => $2)"
        "  AND coalesce(install_at, '-infinity') < now() - make_interval(secs => $2)) AS stale"
        " FROM firmware_updates WHERE charger_id = $1 AND outcome = 'in_progress' FOR UPDATE",
        job.charger_id, static_cast<double>(stale_s.count()));
    for (const auto& row : active) {
      if (!row["stale"].as<bool>()) return std::nullopt;
      txn.exec_params0(
          "UPDATE firmware_updates SET outcome = 'failed', updated_at = now(),"
          " detail = 'timed out: no word from the charger, superseded by a new update'"
          " WHERE id = $1",
          row["id"].as<int64_t>());
    }
    const auto install = job.install_at ? std::optional(pg::TimestampText(*job.install_at))
                                        : std::optional<std::string>();
    try {
      pqxx::subtransaction sub(txn);
      auto row = sub.exec_params1(
          std::string("INSERT INTO firmware_updates (charger_id, request_id, location, retrieve_at,"
                      " install_at, signed, signing_certificate, signature, retries,"
                      " retry_interval_s, firmware_version_before, requested_by)"
                      " VALUES ($1, nextval('ocpp_request_id_seq')::integer, $2, $3::timestamptz,"
                      " $4::timestamptz, $5, $6, $7, $8, $9, $10, $11) RETURNING ") +
              kJobColumns,
          job.charger_id, job.location, pg::TimestampText(job.retrieve_at), install,
          !job.signature.empty(), OptText(job.signing_certificate), OptText(job.signature),
          job.retries, job.retry_interval_s, job.firmware_version_before, job.requested_by);
      auto out = JobFromRow(row);
      sub.commit();
      return out;
    } catch (const pqxx::unique_violation&) {
      return std::nullopt;
    }
  });
}

v1::FirmwareJob FirmwareJobStore::Answered(const std::string& charger_id, int32_t request_id,
                                           std::string_view status, std::string_view detail) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    auto row = txn.exec_params1(
        "SELECT state, outcome FROM firmware_updates WHERE charger_id = $1 AND request_id = $2"
        " FOR UPDATE",
        charger_id, request_id);
    const FirmwareJobState next =
        OnFirmwareAnswer({row[0].as<std::string>(), row[1].as<std::string>()}, status);
    return JobFromRow(txn.exec_params1(
        std::string("UPDATE firmware_updates SET state = $3, outcome = $4, updated_at = now(),"
                    " detail = CASE WHEN $5 = '' THEN detail ELSE $5 END"
                    " WHERE charger_id = $1 AND request_id = $2 RETURNING ") +
            kJobColumns,
        charger_id, request_id, next.state, next.outcome, std::string(detail)));
  });
}

void FirmwareJobStore::CallFailed(const std::string& charger_id, int32_t request_id,
                                  const std::string& detail) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    auto rows = txn.exec_params(
        std::string("UPDATE firmware_updates SET outcome = 'failed', updated_at = now(),"
                    " detail = $3 WHERE charger_id = $1 AND request_id = $2"
                    " AND outcome = 'in_progress' AND state = 'Requested' RETURNING ") +
            kJobColumns,
        charger_id, request_id, detail);
    if (rows.empty()) return;
    const TimePoint now = RealClock().Now();
    AlertStore::Raise(txn, {FirmwareFailedAlert(JobFromRow(rows[0]), now)}, now);
  });
}

std::vector<v1::FirmwareJob> FirmwareJobStore::List(const std::string& charger_id, int limit) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    std::vector<v1::FirmwareJob> out;
    for (const auto& row : txn.exec_params(std::string("SELECT ") + kJobColumns +
                                               " FROM firmware_updates WHERE charger_id = $1"
                                               " ORDER BY id DESC LIMIT $2",
                                           charger_id, limit)) {
      out.push_back(JobFromRow(row));
    }
    return out;
  });
}

std::vector<AlertDraft> FirmwareJobStore::ApplyStatuses(
    pqxx::work& txn, const std::vector<const v1::ChargerEvent*>& events) {
  std::vector<const v1::ChargerEvent*> firmware;
  for (const auto* e : events) {
    if (e->kind() == "FirmwareStatusNotification" && e->has_request_id()) firmware.push_back(e);
  }
  if (firmware.empty()) return {};
  pg::ArrayLiteral ids, requests;
  for (const auto* e : firmware) {
    ids.Text(e->charger_id());
    requests.Int(e->request_id());
  }
  std::map<std::pair<std::string, int32_t>, FirmwareJobState> jobs;
  for (const auto& row : txn.exec_params(
           "SELECT f.charger_id, f.request_id, f.state, f.outcome FROM firmware_updates f"
           " JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int[])) AS u (id, req)"
           " ON f.charger_id = u.id AND f.request_id = u.req"
           " WHERE f.outcome = 'in_progress' ORDER BY f.id FOR UPDATE OF f",
           ids.str(), requests.str())) {
    jobs[{row[0].as<std::string>(), row[1].as<int32_t>()}] = {row[2].as<std::string>(),
                                                              row[3].as<std::string>()};
  }
  if (jobs.empty()) return {};
  std::vector<std::pair<std::string, int32_t>> failed;
  for (const auto* e : firmware) {
    auto it = jobs.find({e->charger_id(), e->request_id()});
    if (it == jobs.end()) continue;
    const bool was_final = it->second.outcome != "in_progress";
    it->second = OnFirmwareStatus(it->second, e->type());
    if (!was_final && it->second.outcome == "failed") failed.push_back(it->first);
  }
  pg::ArrayLiteral job_ids, job_requests, states, outcomes;
  for (const auto& [key, job] : jobs) {
    job_ids.Text(key.first);
    job_requests.Int(key.second);
    states.Text(job.state);
    outcomes.Text(job.outcome);
  }
  txn.exec_params0(
      "UPDATE firmware_updates f SET state = u.state, outcome = u.outcome, updated_at = now(),"
      " last_status_at = now()"
      " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS u (id, req, state, outcome)"
      " WHERE f.charger_id = u.id AND f.request_id = u.req",
      job_ids.str(), job_requests.str(), states.str(), outcomes.str());
  std::vector<AlertDraft> alerts;
  for (const auto& [charger_id, request_id] : failed) {
    alerts.push_back(FirmwareFailedAlert(
        JobFromRow(txn.exec_params1(std::string("SELECT ") + kJobColumns +
                                        " FROM firmware_updates WHERE charger_id = $1"
                                        " AND request_id = $2",
                                    charger_id, request_id)),
        RealClock().Now()));
  }
  return alerts;
}

void FirmwareJobStore::ApplyBoots(pqxx::work& txn, const std::vector<FirmwareBoot>& boots) {
  pg::ArrayLiteral ids, versions, reasons;
  bool any = false;
  for (const auto& b : boots) {
    if (b.status != "Accepted") continue;
    any = true;
    ids.Text(b.boot->charger_id);
    versions.Text(b.boot->firmware_version);
    reasons.Text(b.boot->reason);
  }
  if (!any) return;
  // The charger's newest job only; a version equal to the one before is noted, not failed.
  txn.exec_params0(
      "UPDATE firmware_updates f SET firmware_version_after = u.version, updated_at = now(),"
      " detail = CASE WHEN u.version = f.firmware_version_before"
      "  THEN 'the charger booted with the same firmware version' ELSE f.detail END"
      " FROM unnest($1::text[], $2::text[], $3::text[]) AS u (id, version, reason)"
      " WHERE f.charger_id = u.id"
      " AND f.id = (SELECT max(id) FROM firmware_updates l WHERE l.charger_id = u.id)"
      " AND ((f.outcome = 'in_progress'"
      "   AND (u.reason = 'FirmwareUpdate' OR f.state IN ('Installing', 'InstallRebooting')))"
      "  OR (f.outcome = 'installed' AND f.firmware_version_after IS NULL"
      "   AND f.updated_at > now() - interval '1 hour'))",
      ids.str(), versions.str(), reasons.str());
}

}  // namespace csms::control
