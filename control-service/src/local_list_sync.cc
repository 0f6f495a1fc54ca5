#include "csms/control/local_list_sync.h"

#include <algorithm>
#include <future>
#include <map>
#include <optional>

#include "csms/common/log.h"
#include "csms/common/pg_sql.h"
#include "csms/ocpp/v201/clear_cache.h"
#include "csms/ocpp/v201/get_local_list_version.h"
#include "csms/ocpp/v201/send_local_list.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using nlohmann::json;
constexpr const char* kComponent = "control";
constexpr const char* kIssuer = "system:local-list";
// A list left alone this long is compared again even when no token changed (a change whose
// sequence number was taken before, but committed after, the last sync is then caught too).
constexpr int kRecheckSeconds = 600;

// The chargers whose device model enables `component` (Enabled Actual = true), connected and
// accepted; matches the partial indexes of migration 0015.
std::string EnabledChargers(const std::string& component) {
  return "SELECT c.charger_id, c.connection_id FROM chargers c"
         " JOIN device_variables v ON v.charger_id = c.charger_id"
         "  AND lower(v.component) = '" +
         component +
         "' AND lower(v.variable) = 'enabled' AND v.evse_id IS NULL"
         " JOIN device_variable_attributes a ON a.charger_id = v.charger_id"
         "  AND a.variable_key = v.variable_key AND a.type = 'Actual' AND lower(a.value) = 'true'"
         " WHERE c.connected AND c.registration_status = 'Accepted'";
}

int64_t LastChangeSeq(pqxx::transaction_base& txn) {
  return txn.exec1("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM token_change_seq")[0]
      .as<int64_t>();
}

// The list entry of a stored token (AuthorizationData), written the same way every time so
// that an unchanged token compares equal to what the charger holds.
json EntryOf(const pqxx::row& row) {
  json info = {{"status", "Accepted"}};
  if (!row["expires"].is_null()) {
    info["cacheExpiryDateTime"] = FormatRfc3339(pg::FromEpochSeconds(row["expires"].as<double>()));
  }
  if (!row["group_type"].is_null()) {
    info["groupIdToken"] = {{"idToken", row["group_id_token"].as<std::string>()},
                            {"type", row["group_type"].as<std::string>()}};
  }
  const std::string language = row["language"].is_null() ? "" : row["language"].as<std::string>();
  if (!language.empty()) info["language1"] = language;
  if (!row["personal_message"].is_null() && !row["personal_message"].as<std::string>().empty()) {
    json message = {{"format", "UTF8"}, {"content", row["personal_message"].as<std::string>()}};
    if (!language.empty()) message["language"] = language;
    info["personalMessage"] = std::move(message);
  }
  return {
      {"idToken",
       {{"idToken", row["id_token"].as<std::string>()}, {"type", row["type"].as<std::string>()}}},
      {"idTokenInfo", std::move(info)}};
}

}  // namespace

struct LocalListSync::Claim {
  std::string charger_id;
  int32_t version = 0;
  bool full_needed = true;
  std::string checked_connection;
};

struct LocalListSync::Settings {
  bool enabled = false;
  std::optional<int> max_entries;  // Entries maxLimit
  ListLimits limits;
};

LocalListSync::LocalListSync(pg::Pool& pool, RegistryStore& registry, CommandSender& sender,
                             Options options)
    : pool_(pool), registry_(registry), sender_(sender), options_(options) {
  if (!options_.background) return;
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] {
      std::unique_lock lock(mu_);
      while (!stop_) {
        lock.unlock();
        int done = 0;
        try {
          done = RunOnce(1);
        } catch (const std::exception& e) {
          CSMS_LOG(kWarn, kComponent) << "local lists: " << log::Sanitize(e.what(), 200);
        }
        lock.lock();
        if (done == 0) {
          cv_.wait_for(lock, options_.poll, [this] { return stop_ || wake_; });
          wake_ = false;
        }
      }
    });
  }
}

LocalListSync::~LocalListSync() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void LocalListSync::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

int LocalListSync::RunOnce(int limit) {
  int sent = 0;
  for (const Claim& claim : ClaimDue(limit)) {
    if (Sync(claim)) ++sent;
  }
  return sent + ClearCaches(limit);
}

std::vector<LocalListSync::Claim> LocalListSync::ClaimDue(int limit) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    const int64_t seq = LastChangeSeq(txn);
    std::vector<Claim> claims;
    for (const auto& row : txn.exec_params(
             "WITH due AS (SELECT e.charger_id FROM (" + EnabledChargers("localauthlistctrlr") +
                 ") e LEFT JOIN local_lists l ON l.charger_id = e.charger_id"
                 " WHERE l.charger_id IS NULL OR ((l.state <> 'syncing' OR l.lease_until < now())"
                 "  AND l.due_at <= now() AND (l.full_needed OR l.synced_seq < $1"
                 "   OR l.checked_connection IS DISTINCT FROM e.connection_id"
                 "   OR l.updated_at < now() - $4 * interval '1 second'))"
                 " ORDER BY e.charger_id LIMIT $2)"
                 " INSERT INTO local_lists AS l (charger_id, state, lease_until)"
                 " SELECT charger_id, 'syncing', now() + $3 * interval '1 second' FROM due"
                 " ON CONFLICT (charger_id) DO UPDATE SET state = 'syncing',"
                 " lease_until = EXCLUDED.lease_until, updated_at = now()"
                 " WHERE l.state <> 'syncing' OR l.lease_until < now()"
                 " RETURNING l.charger_id, l.version, l.full_needed,"
                 " coalesce(l.checked_connection, '')",
             seq, limit, static_cast<int64_t>(options_.lease.count()), kRecheckSeconds)) {
      claims.push_back({row[0].as<std::string>(), row[1].as<int32_t>(), row[2].as<bool>(),
                        row[3].as<std::string>()});
    }
    return claims;
  });
}

LocalListSync::Settings LocalListSync::ReadSettings(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    Settings s;
    for (const auto& row : txn.exec_params(
             "SELECT lower(v.variable) AS variable, v.max_limit, a.value FROM device_variables v"
             " LEFT JOIN device_variable_attributes a ON a.charger_id = v.charger_id"
             "  AND a.variable_key = v.variable_key AND a.type = 'Actual'"
             " WHERE v.charger_id = $1 AND lower(v.component) = 'localauthlistctrlr'"
             " AND v.evse_id IS NULL",
             charger_id)) {
      const std::string variable = row["variable"].as<std::string>();
      const std::string value = row["value"].is_null() ? "" : row["value"].as<std::string>();
      auto number = [&]() -> std::optional<int> {
        try {
          const int n = std::stoi(value);
          return n > 0 ? std::optional(n) : std::nullopt;
        } catch (const std::exception&) {
          return std::nullopt;
        }
      };
      if (variable == "enabled") s.enabled = value == "true" || value == "True";
      if (variable == "itemspermessage" && number()) s.limits.items_per_message = *number();
      if (variable == "bytespermessage" && number()) s.limits.bytes_per_message = *number();
      if (variable == "entries" && !row["max_limit"].is_null() &&
          row["max_limit"].as<double>() >= 0) {
        s.max_entries = static_cast<int>(row["max_limit"].as<double>());
      }
    }
    return s;
  });
}

std::vector<ListEntry> LocalListSync::DesiredList(const std::string& charger_id, int max_entries) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    std::vector<ListEntry> entries;
    for (const auto& row : txn.exec_params(
             "SELECT t.type, t.id_token, t.id_key, extract(epoch from t.expires_at)::float8 AS"
             " expires, t.group_type, t.group_id_token, t.language, t.personal_message"
             " FROM tokens t WHERE t.status = 'Accepted' AND t.type <> 'NoAuthorization'"
             " AND (t.expires_at IS NULL OR t.expires_at > now())"
             " AND (t.stations IS NULL OR (SELECT station_id FROM station_chargers"
             "   WHERE charger_id = $1) = ANY (t.stations))"
             " ORDER BY t.last_used_at DESC NULLS LAST, t.change_seq DESC LIMIT $2",
             charger_id, max_entries)) {
      entries.push_back(
          {row["type"].as<std::string>(), row["id_key"].as<std::string>(), EntryOf(row)});
    }
    return entries;
  });
}

template <typename Request>
TypedReply<typename Request::Response> LocalListSync::Call(const ChargerRecord& charger,
                                                           const Request& request) {
  using Reply = TypedReply<typename Request::Response>;
  auto promise = std::make_shared<std::promise<Reply>>();
  auto answer = promise->get_future();
  sender_.Send(charger, request, kIssuer, options_.call_timeout,
               [promise](Reply reply) { promise->set_value(std::move(reply)); });
  return answer.get();
}

bool LocalListSync::Sync(const Claim& claim) {
  struct Outcome {
    std::string state = "pending";
    bool full_needed = true;
    std::string text;
    bool backoff = true;
    std::optional<int64_t> synced_seq;
    std::optional<std::string> checked_connection;
  } out;
  auto release = [&] {
    pg::Transact(pool_, [&](pqxx::work& txn) {
      txn.exec_params0(
          "UPDATE local_lists SET state = $2, full_needed = $3, last_outcome = $4,"
          " lease_until = NULL, attempts = CASE WHEN $5 THEN attempts + 1 ELSE 0 END,"
          " due_at = CASE WHEN $5 THEN now() + least(3600, $6 * power(2, attempts))"
          "   * interval '1 second' ELSE now() END,"
          " synced_seq = coalesce($7, synced_seq),"
          " checked_connection = coalesce($8, checked_connection), updated_at = now()"
          " WHERE charger_id = $1",
          claim.charger_id, out.state, out.full_needed, out.text, out.backoff,
          static_cast<int64_t>(options_.retry_base.count()), out.synced_seq,
          out.checked_connection);
    });
  };
  out.full_needed = claim.full_needed;
  const std::optional<ChargerRecord> charger = registry_.FindCharger(claim.charger_id);
  if (!charger || !charger->connected) {
    out.text = "charger not connected";
    release();
    return false;
  }
  const Settings settings = ReadSettings(claim.charger_id);
  if (!settings.enabled) {
    out.text = "LocalAuthListCtrlr not enabled";
    release();
    return false;
  }
  bool sent = false;
  int32_t version = claim.version;
  // D02: once per connection, the charger's own version (a factory reset or a firmware update
  // loses the list; 0 means none).
  if (claim.checked_connection != charger->connection_id) {
    const auto reply = Call(*charger, v201::GetLocalListVersionRequest());
    sent = true;
    if (!reply.response) {
      out.text = "GetLocalListVersion: " + std::string(OutcomeName(reply.raw.outcome));
      release();
      return sent;
    }
    const int32_t reported = reply.response->version_number;
    if (reported != version || reported == 0) {
      if (!out.full_needed) {
        CSMS_LOG(kInfo, kComponent) << "charger " << claim.charger_id << " reports local list "
                                    << reported << ", the CSMS sent " << version << ": Full update";
      }
      out.full_needed = true;
      version = std::max(version, reported);
    }
    out.checked_connection = charger->connection_id;
  }

  const int64_t seq = pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return LastChangeSeq(txn);
  });
  const int max_entries = settings.max_entries.value_or(options_.default_max_entries);
  const std::vector<ListEntry> desired = DesiredList(claim.charger_id, max_entries);

  for (int round = 0; round < 2; ++round) {
    ListPlan plan;
    if (out.full_needed) {
      plan = PlanFullList(desired, version + 1, settings.limits);
    } else {
      std::map<std::string, std::string> current;
      pool_.Run([&](pqxx::connection& conn) {
        pqxx::read_transaction txn(conn);
        for (const auto& row : txn.exec_params("SELECT type, id_key, entry FROM local_list_entries"
                                               " WHERE charger_id = $1",
                                               claim.charger_id)) {
          current.emplace(ListKey(row[0].as<std::string>(), row[1].as<std::string>()),
                          row[2].as<std::string>());
        }
      });
      plan = PlanDifferentialList(desired, current, version + 1, settings.limits);
    }
    if (!plan.too_big.empty()) {
      CSMS_LOG(kWarn, kComponent) << "charger " << claim.charger_id << ": " << plan.too_big.size()
                                  << " token(s) do not fit its BytesPerMessage even alone; left"
                                  << " out of its local list";
    }
    bool refused = false;
    for (const ListMessage& message : plan.messages) {
      const auto request = ocpp::Decode<v201::SendLocalListRequest>(message.payload);
      const auto reply = Call(*charger, request);
      sent = true;
      if (!reply.response) {
        out.text = "SendLocalList: " + std::string(OutcomeName(reply.raw.outcome));
        release();
        return sent;
      }
      const auto status = reply.response->status;
      if (status != v201::SendLocalListStatusEnum::kAccepted) {
        out.text = "SendLocalList " + std::string(message.full ? "Full" : "Differential") + " " +
                   std::to_string(message.version) + ": " + std::string(v201::ToString(status));
        CSMS_LOG(kWarn, kComponent) << "charger " << claim.charger_id << ": " << out.text;
        refused = true;
        break;
      }
      // What the charger holds now, as it holds it: a later failure resumes from here.
      pg::Transact(pool_, [&](pqxx::work& txn) {
        if (message.full) {
          txn.exec_params0("DELETE FROM local_list_entries WHERE charger_id = $1",
                           claim.charger_id);
        }
        pg::ArrayLiteral types, keys, entries, gone_types, gone_keys;
        for (const auto& [key, entry] : message.changes) {
          const auto cut = key.find('\n');
          if (entry) {
            types.Text(key.substr(0, cut));
            keys.Text(key.substr(cut + 1));
            entries.Text(*entry);
          } else {
            gone_types.Text(key.substr(0, cut));
            gone_keys.Text(key.substr(cut + 1));
          }
        }
        txn.exec_params0(
            "DELETE FROM local_list_entries e USING unnest($2::text[], $3::text[]) AS g (t, k)"
            " WHERE e.charger_id = $1 AND e.type = g.t AND e.id_key = g.k",
            claim.charger_id, gone_types.str(), gone_keys.str());
        txn.exec_params0(
            "INSERT INTO local_list_entries (charger_id, type, id_key, entry)"
            " SELECT $1, t, k, e FROM unnest($2::text[], $3::text[], $4::text[]) AS u (t, k, e)"
            " ON CONFLICT (charger_id, type, id_key) DO UPDATE SET entry = EXCLUDED.entry",
            claim.charger_id, types.str(), keys.str(), entries.str());
        txn.exec_params0(
            "UPDATE local_lists SET version = $2, full_needed = false, entries ="
            " (SELECT count(*) FROM local_list_entries WHERE charger_id = $1), updated_at = now()"
            " WHERE charger_id = $1",
            claim.charger_id, message.version);
      });
      version = message.version;
      out.full_needed = false;
    }
    if (!refused) {
      out.state = "in_sync";
      out.backoff = false;
      out.synced_seq = seq;
      out.text = plan.messages.empty() ? "in sync"
                                       : "sent " + std::to_string(plan.messages.size()) +
                                             " message(s), version " + std::to_string(version);
      release();
      return sent;
    }
    // A refused Differential (VersionMismatch, Failed): once more, as a Full (D01).
    if (out.full_needed) break;
    out.full_needed = true;
  }
  out.state = "failed";
  out.full_needed = true;
  release();
  return sent;
}

int LocalListSync::ClearCaches(int limit) {
  // One thread at a time per replica; another replica may send one too (ClearCache is
  // idempotent).
  static std::mutex clearing;
  std::unique_lock lock(clearing, std::try_to_lock);
  if (!lock.owns_lock()) return 0;
  struct Due {
    std::string charger_id;
    int64_t up_to;
  };
  const std::vector<Due> due = pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    std::vector<Due> out;
    const int64_t newest =
        txn.exec1("SELECT coalesce(max(id), 0) FROM auth_cache_clears")[0].as<int64_t>();
    if (newest == 0) return out;
    for (const auto& row :
         txn.exec_params("SELECT e.charger_id FROM (" + EnabledChargers("authcachectrlr") +
                             ") e LEFT JOIN auth_cache_cleared k ON k.charger_id = e.charger_id"
                             " WHERE coalesce(k.cleared_id, 0) < $1 ORDER BY e.charger_id"
                             " LIMIT $2",
                         newest, limit)) {
      out.push_back({row[0].as<std::string>(), newest});
    }
    return out;
  });
  int sent = 0;
  for (const Due& d : due) {
    const auto charger = registry_.FindCharger(d.charger_id);
    if (!charger || !charger->connected) continue;
    const auto reply = Call(*charger, v201::ClearCacheRequest());
    ++sent;
    // A charger that could not be reached is tried again next round; one that answered (even
    // with a refusal or a CALLERROR) is done.
    if (reply.raw.outcome == CommandOutcome::kTimeout ||
        reply.raw.outcome == CommandOutcome::kOffline ||
        reply.raw.outcome == CommandOutcome::kFailed) {
      continue;
    }
    pg::Transact(pool_, [&](pqxx::work& txn) {
      txn.exec_params0(
          "INSERT INTO auth_cache_cleared (charger_id, cleared_id) VALUES ($1, $2)"
          " ON CONFLICT (charger_id) DO UPDATE SET cleared_id = greatest("
          " auth_cache_cleared.cleared_id, EXCLUDED.cleared_id), updated_at = now()",
          d.charger_id, d.up_to);
    });
  }
  return sent;
}

}  // namespace csms::control
