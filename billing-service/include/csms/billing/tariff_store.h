#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "csms/billing/tariff.h"
#include "csms/billing/v1/billing.pb.h"
#include "csms/common/pg.h"

namespace csms::billing {

// A request the tariffs cannot take: InvalidTariff (a field is wrong; the message names it) or
// UnknownTariff (no such tariff or version).
struct InvalidTariff : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct UnknownTariff : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Tariff versions and station assignments in PostgreSQL (tables tariffs, station_tariffs).
// Versions never change once stored, so the ledger's lookups are cached for good. Calls throw
// pqxx exceptions when the database fails.
class TariffStore {
 public:
  // `flags_tariff` prices sessions without a stored tariff; `default_time_zone` is the one a
  // tariff stored without time_zone gets (billing's --timezone).
  TariffStore(pg::Pool& pool, Tariff flags_tariff, std::string default_time_zone);

  // Stores the next version of the tariff (valid from `now` unless it says otherwise).
  v1::Tariff Put(v1::Tariff tariff, TimePoint now);
  // Version 0: the newest. Nullopt when there is none.
  std::optional<v1::Tariff> Get(const std::string& tariff_id, int version);
  // "": the newest version of every tariff, by id; else every version of that tariff, oldest
  // first.
  std::vector<v1::Tariff> List(const std::string& tariff_id);
  // "" assigns "default". Throws UnknownTariff when the tariff has no version.
  v1::StationTariff SetStationTariff(const std::string& station_id, const std::string& tariff_id);
  v1::StationTariff GetStationTariff(const std::string& station_id);

  // The tariff that prices a session: the flags' for an empty id, else that stored version
  // (loaded through `txn` the first time). Throws UnknownTariff for a version not stored.
  std::shared_ptr<const Tariff> Version(pqxx::transaction_base& txn, const std::string& tariff_id,
                                        int version);

  const Tariff& flags_tariff() const { return *flags_tariff_; }
  const std::string& default_time_zone() const { return default_time_zone_; }

 private:
  pg::Pool& pool_;
  const std::shared_ptr<const Tariff> flags_tariff_;
  const std::string default_time_zone_;
  std::mutex mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const Tariff>> versions_;
};

}  // namespace csms::billing
