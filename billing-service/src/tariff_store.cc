#include "csms/billing/tariff_store.h"

#include <google/protobuf/util/json_util.h>

namespace csms::billing {
namespace {

// Advisory lock class "versions of one tariff": two PutTariff of one id number in turn.
constexpr int kTariffLockClass = 0x0b112;

std::string ToJson(const v1::Tariff& tariff) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(tariff, &text, options).ok()) {
    throw std::logic_error("tariff does not print as JSON");
  }
  return text;
}

// A stored version: its definition plus what the table's columns say.
v1::Tariff ReadTariff(const pqxx::row& row) {
  v1::Tariff tariff;
  if (!google::protobuf::util::JsonStringToMessage(row["definition"].as<std::string>(), &tariff)
           .ok()) {
    throw std::runtime_error("stored tariff " + row["tariff_id"].as<std::string>() +
                             " does not parse");
  }
  tariff.set_tariff_id(row["tariff_id"].as<std::string>());
  tariff.set_version(row["version"].as<int>());
  *tariff.mutable_valid_from() =
      ToProto(TimePoint(std::chrono::microseconds(row["valid_from_us"].as<int64_t>())));
  *tariff.mutable_created_at() =
      ToProto(TimePoint(std::chrono::microseconds(row["created_at_us"].as<int64_t>())));
  return tariff;
}

constexpr const char* kTariffColumns =
    "tariff_id, version, definition::text AS definition,"
    " (extract(epoch FROM valid_from) * 1000000)::bigint AS valid_from_us,"
    " (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_us";

v1::StationTariff ReadStationTariff(const std::string& station_id, const pqxx::result& rows) {
  v1::StationTariff out;
  out.set_station_id(station_id);
  if (!rows.empty()) {
    out.set_tariff_id(rows[0][0].as<std::string>());
    *out.mutable_updated_at() =
        ToProto(TimePoint(std::chrono::microseconds(rows[0][1].as<int64_t>())));
  }
  return out;
}

}  // namespace

TariffStore::TariffStore(pg::Pool& pool, Tariff flags_tariff, std::string default_time_zone)
    : pool_(pool),
      flags_tariff_(std::make_shared<const Tariff>(std::move(flags_tariff))),
      default_time_zone_(std::move(default_time_zone)) {}

v1::Tariff TariffStore::Put(v1::Tariff tariff, TimePoint now) {
  tariff.set_version(0);
  tariff.clear_created_at();
  if (tariff.time_zone().empty()) tariff.set_time_zone(default_time_zone_);
  if (!tariff.has_valid_from()) *tariff.mutable_valid_from() = ToProto(now);
  std::variant<Tariff, std::string> checked = TariffFromProto(tariff, flags_tariff_->currency);
  if (auto* error = std::get_if<std::string>(&checked)) throw InvalidTariff(*error);
  const std::string definition = ToJson(tariff);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", kTariffLockClass,
                    tariff.tariff_id());
    const pqxx::row row = txn.exec_params1(
        std::string("INSERT INTO tariffs (tariff_id, version, valid_from, definition)"
                    " SELECT $1, coalesce(max(version), 0) + 1, $2::timestamptz, $3::jsonb"
                    " FROM tariffs WHERE tariff_id = $1 RETURNING ") +
            kTariffColumns,
        tariff.tariff_id(), FormatRfc3339(FromProto(tariff.valid_from()), true), definition);
    txn.commit();
    return ReadTariff(row);
  });
}

std::optional<v1::Tariff> TariffStore::Get(const std::string& tariff_id, int version) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<v1::Tariff> {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows =
        txn.exec_params(std::string("SELECT ") + kTariffColumns +
                            " FROM tariffs WHERE tariff_id = $1 AND ($2 = 0 OR version = $2)"
                            " ORDER BY version DESC LIMIT 1",
                        tariff_id, version);
    if (rows.empty()) return std::nullopt;
    return ReadTariff(rows[0]);
  });
}

std::vector<v1::Tariff> TariffStore::List(const std::string& tariff_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows =
        tariff_id.empty()
            ? txn.exec(std::string("SELECT DISTINCT ON (tariff_id) ") + kTariffColumns +
                       " FROM tariffs ORDER BY tariff_id, version DESC")
            : txn.exec_params(std::string("SELECT ") + kTariffColumns +
                                  " FROM tariffs WHERE tariff_id = $1 ORDER BY version",
                              tariff_id);
    std::vector<v1::Tariff> tariffs;
    tariffs.reserve(rows.size());
    for (const pqxx::row& row : rows) tariffs.push_back(ReadTariff(row));
    return tariffs;
  });
}

v1::StationTariff TariffStore::SetStationTariff(const std::string& station_id,
                                                const std::string& tariff_id) {
  if (station_id.empty() || station_id.size() > 64) {
    throw InvalidTariff("station_id must be 1 to 64 characters");
  }
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    if (tariff_id.empty()) {
      txn.exec_params("DELETE FROM station_tariffs WHERE station_id = $1", station_id);
      txn.commit();
      return ReadStationTariff(station_id, pqxx::result());
    }
    if (txn.exec_params("SELECT 1 FROM tariffs WHERE tariff_id = $1 LIMIT 1", tariff_id).empty()) {
      throw UnknownTariff("tariff " + tariff_id + " has no version; PUT /tariffs/" + tariff_id +
                          " first");
    }
    const pqxx::result rows = txn.exec_params(
        "INSERT INTO station_tariffs (station_id, tariff_id) VALUES ($1, $2)"
        " ON CONFLICT (station_id) DO UPDATE SET tariff_id = EXCLUDED.tariff_id,"
        " updated_at = now()"
        " RETURNING tariff_id, (extract(epoch FROM updated_at) * 1000000)::bigint",
        station_id, tariff_id);
    txn.commit();
    return ReadStationTariff(station_id, rows);
  });
}

v1::StationTariff TariffStore::GetStationTariff(const std::string& station_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return ReadStationTariff(station_id,
                             txn.exec_params("SELECT tariff_id,"
                                             " (extract(epoch FROM updated_at) * 1000000)::bigint"
                                             " FROM station_tariffs WHERE station_id = $1",
                                             station_id));
  });
}

std::shared_ptr<const Tariff> TariffStore::Version(pqxx::transaction_base& txn,
                                                   const std::string& tariff_id, int version) {
  if (tariff_id.empty()) return flags_tariff_;
  const std::pair<std::string, int> key{tariff_id, version};
  {
    std::lock_guard lock(mu_);
    if (auto found = versions_.find(key); found != versions_.end()) return found->second;
  }
  const pqxx::result rows =
      txn.exec_params(std::string("SELECT ") + kTariffColumns +
                          " FROM tariffs WHERE tariff_id = $1 AND version = $2",
                      tariff_id, version);
  if (rows.empty()) {
    throw UnknownTariff("tariff " + tariff_id + " version " + std::to_string(version) +
                        " is not stored");
  }
  std::variant<Tariff, std::string> parsed =
      TariffFromProto(ReadTariff(rows[0]), flags_tariff_->currency);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    throw std::runtime_error("stored tariff " + tariff_id + " version " + std::to_string(version) +
                             " is no longer valid: " + *error);
  }
  auto tariff = std::make_shared<const Tariff>(std::move(std::get<Tariff>(parsed)));
  std::lock_guard lock(mu_);
  return versions_.emplace(key, std::move(tariff)).first->second;
}

}  // namespace csms::billing
