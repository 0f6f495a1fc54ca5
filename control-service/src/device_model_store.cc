#include "csms/control/device_model_store.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <pqxx/pqxx>
#include <stdexcept>

#include "csms/common/api_auth.h"
#include "csms/common/ocpp_redact.h"
#include "csms/common/pg_sql.h"
#include "csms/control/device_model_fetcher.h"
#include "csms/ocpp/v201/get_variables.h"
#include "csms/ocpp/v201/set_variables.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A variable row and its attributes as one report item (or one answer) gives them.
struct ItemRows {
  std::string key;
  VariableName name;
  std::optional<v201::VariableCharacteristics> characteristics;
  struct Attribute {
    std::string type;
    std::optional<std::string> value;
    bool secret = false;
    std::string mutability;
    bool persistent = false, constant = false;
  };
  std::vector<Attribute> attributes;
};

VariableName NameOf(const v201::Component& component, const v201::Variable& variable) {
  VariableName n;
  n.component = component.name;
  n.component_instance = component.instance.value_or("");
  if (component.evse) {
    n.evse_id = component.evse->id;
    if (component.evse->connector_id) n.connector_id = *component.evse->connector_id;
  }
  n.variable = variable.name;
  n.variable_instance = variable.instance.value_or("");
  return n;
}

ItemRows RowsOf(const v201::ReportData& item) {
  ItemRows rows;
  rows.name = NameOf(item.component, item.variable);
  rows.key = VariableKey(rows.name);
  rows.characteristics = item.variable_characteristics;
  bool write_only = false;
  for (const auto& a : item.variable_attribute) {
    write_only |= a.mutability == v201::MutabilityEnum::kWriteOnly;
  }
  const bool secret = write_only || ocpp::IsSecretVariable(rows.name.variable);
  for (const auto& a : item.variable_attribute) {
    ItemRows::Attribute out;
    out.type = std::string(v201::ToString(a.type.value_or(v201::AttributeEnum::kActual)));
    out.secret = secret;
    if (!secret) out.value = a.value;
    out.mutability =
        std::string(v201::ToString(a.mutability.value_or(v201::MutabilityEnum::kReadWrite)));
    out.persistent = a.persistent.value_or(false);
    out.constant = a.constant.value_or(false);
    rows.attributes.push_back(std::move(out));
  }
  return rows;
}

// Upserts variables (and their attributes) in two set-based statements. Characteristics are
// replaced only when an item carries them; `report_request_id` marks the rows a report listed.
void Upsert(pqxx::transaction_base& txn, const std::string& charger_id,
            const std::vector<ItemRows>& items, std::optional<int32_t> report_request_id,
            const std::string& source, TimePoint at) {
  if (items.empty()) return;
  pg::ArrayLiteral keys, components, component_instances, evses, connectors, variables,
      variable_instances, data_types, units, mins, maxs, values_lists, monitoring;
  pg::ArrayLiteral a_keys, a_types, a_values, a_secrets, a_mutability, a_persistent, a_constant;
  std::map<std::string, size_t> seen;  // an answer may name a variable twice: the last wins
  for (const ItemRows& item : items) {
    if (!seen.emplace(item.key, 0).second) continue;
    keys.Text(item.key);
    components.Text(item.name.component);
    component_instances.Text(item.name.component_instance);
    evses.OptInt(item.name.evse_id ? std::optional<int64_t>(*item.name.evse_id) : std::nullopt);
    connectors.OptInt(item.name.connector_id ? std::optional<int64_t>(*item.name.connector_id)
                                             : std::nullopt);
    variables.Text(item.name.variable);
    variable_instances.Text(item.name.variable_instance);
    const auto& c = item.characteristics;
    data_types.Text(c ? std::string(v201::ToString(c->data_type)) : "");
    units.Text(c ? c->unit.value_or("") : "");
    if (c && c->min_limit) {
      mins.Double(*c->min_limit);
    } else {
      mins.Null();
    }
    if (c && c->max_limit) {
      maxs.Double(*c->max_limit);
    } else {
      maxs.Null();
    }
    values_lists.Text(c ? c->values_list.value_or("") : "");
    monitoring.Bool(c && c->supports_monitoring);
  }
  std::map<std::pair<std::string, std::string>, const ItemRows::Attribute*> attributes;
  for (const ItemRows& item : items) {
    for (const auto& a : item.attributes) attributes[{item.key, a.type}] = &a;
  }
  for (const auto& [key, a] : attributes) {
    a_keys.Text(key.first);
    a_types.Text(key.second);
    a_values.OptText(a->value);
    a_secrets.Bool(a->secret);
    a_mutability.Text(a->mutability);
    a_persistent.Bool(a->persistent);
    a_constant.Bool(a->constant);
  }
  const std::string when = pg::TimestampText(at);
  // Characteristics change only when an item carries them (data type is required in them).
  txn.exec_params0(
      "INSERT INTO device_variables AS d (charger_id, variable_key, component, component_instance,"
      " evse_id, connector_id, variable, variable_instance, data_type, unit, min_limit, max_limit,"
      " values_list, supports_monitoring, report_request_id, updated_at)"
      " SELECT $1, u.k, u.c, u.ci, u.e, u.n, u.v, u.vi, u.dt, u.un, u.mi, u.ma, u.vl, u.sm, $15,"
      " $16::timestamptz"
      " FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[],"
      "  $8::text[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::text[],"
      "  $14::bool[]) AS u (k, c, ci, e, n, v, vi, dt, un, mi, ma, vl, sm)"
      " ORDER BY u.k"
      " ON CONFLICT (charger_id, variable_key) DO UPDATE SET"
      " component = EXCLUDED.component, component_instance = EXCLUDED.component_instance,"
      " variable = EXCLUDED.variable, variable_instance = EXCLUDED.variable_instance,"
      " data_type = CASE WHEN EXCLUDED.data_type <> '' THEN EXCLUDED.data_type ELSE d.data_type "
      "END,"
      " unit = CASE WHEN EXCLUDED.data_type <> '' THEN EXCLUDED.unit ELSE d.unit END,"
      " min_limit = CASE WHEN EXCLUDED.data_type <> '' THEN EXCLUDED.min_limit ELSE d.min_limit "
      "END,"
      " max_limit = CASE WHEN EXCLUDED.data_type <> '' THEN EXCLUDED.max_limit ELSE d.max_limit "
      "END,"
      " values_list ="
      "   CASE WHEN EXCLUDED.data_type <> '' THEN EXCLUDED.values_list ELSE d.values_list END,"
      " supports_monitoring = CASE WHEN EXCLUDED.data_type <> ''"
      "   THEN EXCLUDED.supports_monitoring ELSE d.supports_monitoring END,"
      " report_request_id = coalesce(EXCLUDED.report_request_id, d.report_request_id),"
      " updated_at = EXCLUDED.updated_at",
      charger_id, keys.str(), components.str(), component_instances.str(), evses.str(),
      connectors.str(), variables.str(), variable_instances.str(), data_types.str(), units.str(),
      mins.str(), maxs.str(), values_lists.str(), monitoring.str(), report_request_id, when);
  if (attributes.empty()) return;
  // A report carries mutability and flags; an answer only a value (it keeps what was reported).
  const bool from_report = report_request_id.has_value();
  txn.exec_params0(
      "INSERT INTO device_variable_attributes AS a (charger_id, variable_key, type, value, secret,"
      " mutability, persistent, constant, source, updated_at)"
      " SELECT $1, u.k, u.t, u.v, u.s, u.m, u.p, u.c, $9, $10::timestamptz"
      " FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::bool[],"
      "  $8::bool[]) AS u (k, t, v, s, m, p, c) ORDER BY u.k, u.t"
      " ON CONFLICT (charger_id, variable_key, type) DO UPDATE SET"
      " value = CASE WHEN a.secret OR EXCLUDED.secret THEN NULL ELSE EXCLUDED.value END,"
      " secret = a.secret OR EXCLUDED.secret,"
      " mutability = CASE WHEN $11 THEN EXCLUDED.mutability ELSE a.mutability END,"
      " persistent = CASE WHEN $11 THEN EXCLUDED.persistent ELSE a.persistent END,"
      " constant = CASE WHEN $11 THEN EXCLUDED.constant ELSE a.constant END,"
      " source = EXCLUDED.source, updated_at = EXCLUDED.updated_at",
      charger_id, a_keys.str(), a_types.str(), a_values.str(), a_secrets.str(), a_mutability.str(),
      a_persistent.str(), a_constant.str(), source, when, from_report);
}

v1::DeviceModelReport ReadReport(const pqxx::row& row) {
  v1::DeviceModelReport r;
  r.set_request_id(row["request_id"].as<int32_t>());
  r.set_scope(row["scope"].c_str());
  r.set_status(row["status"].c_str());
  r.set_requested_by(row["requested_by"].c_str());
  *r.mutable_requested_at() = ToProto(pg::FromEpochSeconds(row["requested"].as<double>()));
  r.set_parts_received(row["parts_received"].as<int32_t>());
  r.set_items_received(row["items_received"].as<int32_t>());
  if (auto t = pg::OptionalTime(row["completed"])) *r.mutable_completed_at() = ToProto(*t);
  return r;
}

}  // namespace

std::string VariableKey(const VariableName& n) {
  auto number = [](const std::optional<int>& v) { return v ? std::to_string(*v) : std::string(); };
  return Lower(n.component) + '|' + Lower(n.component_instance) + '|' + number(n.evse_id) + '|' +
         number(n.connector_id) + '|' + Lower(n.variable) + '|' + Lower(n.variable_instance);
}

std::vector<AttributeUpdate> ConfirmedAttributes(const std::string& action,
                                                 const nlohmann::json& request,
                                                 const nlohmann::json& result) {
  std::vector<AttributeUpdate> out;
  auto type_of = [](const std::optional<v201::AttributeEnum>& t) {
    return std::string(v201::ToString(t.value_or(v201::AttributeEnum::kActual)));
  };
  try {
    if (action == "SetVariables") {
      const auto req = ocpp::Decode<v201::SetVariablesRequest>(request);
      const auto res = ocpp::Decode<v201::SetVariablesResponse>(result);
      std::map<std::pair<std::string, std::string>, const v201::SetVariableData*> asked;
      for (const auto& item : req.set_variable_data) {
        asked[{VariableKey(NameOf(item.component, item.variable)), type_of(item.attribute_type)}] =
            &item;
      }
      for (const auto& r : res.set_variable_result) {
        if (r.attribute_status != v201::SetVariableStatusEnum::kAccepted) continue;
        AttributeUpdate u{NameOf(r.component, r.variable), type_of(r.attribute_type), {}};
        auto it = asked.find({VariableKey(u.name), u.type});
        if (it == asked.end()) continue;  // an answer to something not asked
        u.value = it->second->attribute_value;
        out.push_back(std::move(u));
      }
    } else if (action == "GetVariables") {
      const auto res = ocpp::Decode<v201::GetVariablesResponse>(result);
      for (const auto& r : res.get_variable_result) {
        if (r.attribute_status != v201::GetVariableStatusEnum::kAccepted || !r.attribute_value) {
          continue;
        }
        out.push_back(
            {NameOf(r.component, r.variable), type_of(r.attribute_type), r.attribute_value});
      }
    }
  } catch (const ocpp::model::DecodeError&) {
    return {};  // checked against the schema already; nothing usable otherwise
  }
  return out;
}

bool IsSecretVariable(const std::string& variable, const std::string& mutability) {
  return mutability == "WriteOnly" || ocpp::IsSecretVariable(variable);
}

int32_t DeviceModelStore::NewRequestId() {
  return pool_.Run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec1("SELECT nextval('ocpp_request_id_seq')::integer")[0].as<int32_t>();
  });
}

void DeviceModelStore::CreateReport(const std::string& charger_id, int32_t request_id,
                                    const std::string& scope, const std::string& requested_by) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    // The id may have been used before by a report the charger sent unasked: this one starts
    // afresh, or its parts would look like repeats of the old ones.
    txn.exec_params0(
        "DELETE FROM device_model_report_parts WHERE charger_id = $1 AND request_id = $2",
        charger_id, request_id);
    txn.exec_params0(
        "INSERT INTO device_model_reports (charger_id, request_id, scope, requested_by, status)"
        " VALUES ($1, $2, $3, $4, 'Requested') ON CONFLICT (charger_id, request_id) DO UPDATE SET"
        " scope = EXCLUDED.scope, requested_by = EXCLUDED.requested_by, requested_at = now(),"
        " status = 'Requested', generated_at = NULL, final_seq_no = NULL, parts_received = 0,"
        " items_received = 0, last_part_at = NULL, completed_at = NULL",
        charger_id, request_id, scope, requested_by);
  });
}

void DeviceModelStore::SetReportStatus(const std::string& charger_id, int32_t request_id,
                                       const std::string& status) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE device_model_reports SET status = $3 WHERE charger_id = $1 AND request_id = $2"
        " AND status = 'Requested'",
        charger_id, request_id, status);
  });
}

PartOutcome DeviceModelStore::ApplyPart(const std::string& charger_id,
                                        const v201::NotifyReportRequest& part,
                                        TimePoint received_at) {
  std::vector<ItemRows> items;
  if (part.report_data) {
    items.reserve(part.report_data->size());
    for (const auto& item : *part.report_data) items.push_back(RowsOf(item));
  }
  const bool last = !part.tbc.value_or(false);
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    PartOutcome out;
    txn.exec_params0(
        "INSERT INTO device_model_reports (charger_id, request_id, scope, status)"
        " VALUES ($1, $2, 'Unsolicited', 'Receiving') ON CONFLICT DO NOTHING",
        charger_id, part.request_id);
    // The report row is locked: its parts are counted one at a time.
    pqxx::row report = txn.exec_params1(
        "SELECT scope FROM device_model_reports WHERE charger_id = $1 AND request_id = $2"
        " FOR UPDATE",
        charger_id, part.request_id);
    if (txn.exec_params(
               "INSERT INTO device_model_report_parts (charger_id, request_id, seq_no, tbc, items,"
               " received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
               charger_id, part.request_id, part.seq_no, !last, static_cast<int>(items.size()),
               pg::TimestampText(received_at))
            .empty()) {
      return out;  // sent again: applied already
    }
    out.stored = true;
    Upsert(txn, charger_id, items, part.request_id, "NotifyReport", received_at);
    pqxx::row updated = txn.exec_params1(
        "UPDATE device_model_reports SET parts_received = parts_received + 1,"
        " items_received = items_received + $3,"
        " final_seq_no = CASE WHEN $4 THEN $5 ELSE final_seq_no END,"
        " generated_at = coalesce(generated_at, $6::timestamptz), last_part_at = $7"
        " WHERE charger_id = $1 AND request_id = $2"
        " RETURNING parts_received, final_seq_no, status",
        charger_id, part.request_id, static_cast<int>(items.size()), last, part.seq_no,
        part.generated_at, pg::TimestampText(received_at));
    const bool complete =
        !updated["final_seq_no"].is_null() &&
        updated["parts_received"].as<int>() == updated["final_seq_no"].as<int>() + 1 &&
        std::string(updated["status"].c_str()) != "Complete";
    txn.exec_params0(
        "UPDATE device_model_reports SET status = $3, completed_at = CASE WHEN $4 THEN "
        "$5::timestamptz"
        " ELSE completed_at END WHERE charger_id = $1 AND request_id = $2 AND status <> 'Complete'",
        charger_id, part.request_id, complete ? "Complete" : "Receiving", complete,
        pg::TimestampText(received_at));
    out.complete = complete;
    if (complete) DeviceModelFetcher::ReportComplete(txn, charger_id, part.request_id);
    if (complete && std::string(report["scope"].c_str()) == "FullInventory") {
      // The whole model, complete: what it does not list is gone from the charger.
      out.swept =
          static_cast<int>(txn.exec_params("DELETE FROM device_variables WHERE charger_id = $1"
                                           " AND report_request_id IS DISTINCT FROM $2 RETURNING 1",
                                           charger_id, part.request_id)
                               .size());
    }
    return out;
  });
}

void DeviceModelStore::ApplyAttributes(const std::string& charger_id,
                                       const std::vector<AttributeUpdate>& updates,
                                       const std::string& source, TimePoint at) {
  if (updates.empty()) return;
  std::vector<ItemRows> items;
  for (const auto& u : updates) {
    ItemRows rows;
    rows.name = u.name;
    rows.key = VariableKey(u.name);
    ItemRows::Attribute a;
    a.type = u.type;
    a.secret = ocpp::IsSecretVariable(u.name.variable);
    if (!a.secret) a.value = u.value;
    rows.attributes.push_back(std::move(a));
    items.push_back(std::move(rows));
  }
  pg::Transact(pool_,
               [&](pqxx::work& txn) { Upsert(txn, charger_id, items, std::nullopt, source, at); });
}

VariablePage DeviceModelStore::List(const VariableFilter& f, int limit, const std::string& cursor) {
  std::optional<std::string> after;
  if (!cursor.empty()) {
    if (cursor[0] != 'v' || !(after = auth::FromHex(std::string_view(cursor).substr(1)))) {
      throw std::invalid_argument("cursor is not one this API handed out");
    }
  }
  auto opt_int = [](const std::optional<int>& v) {
    return v ? std::optional<int64_t>(*v) : std::nullopt;
  };
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT variable_key, component, component_instance, evse_id, connector_id, variable,"
        " variable_instance, data_type, unit, min_limit, max_limit, values_list,"
        " supports_monitoring FROM device_variables WHERE charger_id = $1"
        " AND ($2 = '' OR lower(component) = lower($2))"
        " AND ($3 = '' OR lower(component_instance) = lower($3))"
        " AND ($4::int IS NULL OR evse_id = $4) AND ($5::int IS NULL OR connector_id = $5)"
        " AND ($6 = '' OR lower(variable) = lower($6))"
        " AND ($7 = '' OR lower(variable_instance) = lower($7))"
        " AND ($8 = '' OR strpos(lower(component), lower($8)) > 0"
        "  OR strpos(lower(variable), lower($8)) > 0)"
        " AND ($9::text IS NULL OR variable_key > $9) ORDER BY variable_key LIMIT $10",
        f.charger_id, f.component, f.component_instance, opt_int(f.evse_id),
        opt_int(f.connector_id), f.variable, f.variable_instance, f.search, after, limit + 1);
    VariablePage page;
    std::map<std::string, v1::DeviceVariable*> by_key;
    std::vector<std::string> keys;
    for (const auto& row : rows) {
      if (static_cast<int>(page.variables.size()) == limit) {
        page.next_cursor = "v" + auth::ToHex(keys.back());
        break;
      }
      v1::DeviceVariable& v = page.variables.emplace_back();
      keys.push_back(row["variable_key"].c_str());
      v.set_component(row["component"].c_str());
      v.set_component_instance(row["component_instance"].c_str());
      if (!row["evse_id"].is_null()) v.set_evse_id(row["evse_id"].as<int32_t>());
      if (!row["connector_id"].is_null()) v.set_connector_id(row["connector_id"].as<int32_t>());
      v.set_variable(row["variable"].c_str());
      v.set_variable_instance(row["variable_instance"].c_str());
      v.set_data_type(row["data_type"].c_str());
      v.set_unit(row["unit"].c_str());
      if (!row["min_limit"].is_null()) v.set_min_limit(row["min_limit"].as<double>());
      if (!row["max_limit"].is_null()) v.set_max_limit(row["max_limit"].as<double>());
      v.set_values_list(row["values_list"].c_str());
      v.set_supports_monitoring(row["supports_monitoring"].as<bool>());
    }
    for (size_t i = 0; i < page.variables.size(); ++i) by_key[keys[i]] = &page.variables[i];
    if (keys.empty()) return page;
    for (const auto& row : txn.exec_params(
             "SELECT variable_key, type, value, secret, mutability, persistent, constant, source,"
             " extract(epoch FROM updated_at) AS updated FROM device_variable_attributes"
             " WHERE charger_id = $1 AND variable_key = ANY($2::text[]) AND ($3 = '' OR type = $3)"
             " ORDER BY variable_key, array_position(ARRAY['Actual','Target','MinSet','MaxSet'],"
             " type)",
             f.charger_id, pg::TextArray(keys), f.attribute_type)) {
      v1::DeviceAttribute* a = by_key.at(row["variable_key"].c_str())->add_attributes();
      a->set_type(row["type"].c_str());
      if (!row["value"].is_null()) a->set_value(row["value"].c_str());
      a->set_secret(row["secret"].as<bool>());
      a->set_mutability(row["mutability"].c_str());
      a->set_persistent(row["persistent"].as<bool>());
      a->set_constant(row["constant"].as<bool>());
      a->set_source(row["source"].c_str());
      *a->mutable_updated_at() = ToProto(pg::FromEpochSeconds(row["updated"].as<double>()));
    }
    return page;
  });
}

std::optional<v1::DeviceModelReport> DeviceModelStore::LastReport(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<v1::DeviceModelReport> {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT request_id, scope, status, requested_by, extract(epoch FROM requested_at) AS"
        " requested, parts_received, items_received, extract(epoch FROM completed_at) AS completed"
        " FROM device_model_reports WHERE charger_id = $1 ORDER BY requested_at DESC, request_id"
        " DESC LIMIT 1",
        charger_id);
    if (rows.empty()) return std::nullopt;
    return ReadReport(rows[0]);
  });
}

}  // namespace csms::control
