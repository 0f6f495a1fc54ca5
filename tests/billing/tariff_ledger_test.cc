// Tariffs in the ledger: which version prices a session, and what it stores of the price.
#include <gtest/gtest.h>

#include "billing_test_util.h"
#include "csms/billing/ledger_store.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::minutes;

v1::Tariff EnergyTariff(const std::string& id, double price_per_kwh) {
  v1::Tariff tariff;
  tariff.set_tariff_id(id);
  tariff.set_currency("KRW");
  tariff.set_energy_price_per_kwh(price_per_kwh);
  return tariff;
}

std::vector<TransactionEvent> AtStation(std::vector<TransactionEvent> events,
                                        const std::string& station_id) {
  for (TransactionEvent& event : events) event.set_station_id(station_id);
  return events;
}

class TariffLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    store_ = std::make_unique<LedgerStore>(*pool_, *MakeTariff(150, "KRW"), "Asia/Seoul");
  }

  RecordResult RecordAll(const std::vector<TransactionEvent>& events) {
    RecordResult last;
    for (const auto& event : events) last = store_->Record(event);
    return last;
  }

  v1::Tariff Put(v1::Tariff tariff, TimePoint now = At("2026-01-01T00:00:00Z")) {
    return store_->tariffs().Put(std::move(tariff), now);
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LedgerStore> store_;
};

TEST_F(TariffLedgerTest, WithoutStoredTariffsTheFlagsPriceEverySession) {
  const RecordResult r =
      RecordAll(AtStation(SeedSession("c1", "t1", At("2026-11-23T10:00:00Z")), "jeju"));
  EXPECT_EQ(r.session.station_id, "jeju");
  EXPECT_EQ(r.session.tariff_id, "");
  EXPECT_EQ(r.session.tariff_version, 0);
  EXPECT_EQ(r.session.cost_hundredths, 382'500);  // 25.5 kWh × 150
  EXPECT_EQ(r.session.cost.total_minor, 3825);
  EXPECT_EQ(r.session.cost.energy_micros, 3'825'000'000);
}

TEST_F(TariffLedgerTest, StationTariffElseDefaultElseFlags) {
  v1::Tariff jeju = EnergyTariff("jeju-dc", 300);
  jeju.set_session_fee(500);
  EXPECT_EQ(Put(jeju).version(), 1);
  Put(EnergyTariff("default", 200));
  store_->tariffs().SetStationTariff("jeju", "jeju-dc");
  const TimePoint start = At("2026-11-23T10:00:00Z");

  const RecordResult at_jeju = RecordAll(AtStation(SeedSession("c1", "t1", start), "jeju"));
  EXPECT_EQ(at_jeju.session.tariff_id, "jeju-dc");
  EXPECT_EQ(at_jeju.session.tariff_version, 1);
  EXPECT_EQ(at_jeju.session.cost.total_minor, 25'500 * 300 / 1000 + 500);
  EXPECT_EQ(at_jeju.session.cost.session_fee_micros, 500'000'000);

  const RecordResult elsewhere = RecordAll(AtStation(SeedSession("c2", "t1", start), "seoul"));
  EXPECT_EQ(elsewhere.session.tariff_id, "default");
  EXPECT_EQ(elsewhere.session.cost.total_minor, 5100);  // 25.5 × 200

  // Read back as stored, breakdown included.
  const auto stored = store_->GetSession("t1", "c1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->cost, at_jeju.session.cost);
  EXPECT_EQ(stored->tariff_id, "jeju-dc");

  // Back to default: the next session at the station pays the default.
  store_->tariffs().SetStationTariff("jeju", "");
  EXPECT_EQ(RecordAll(AtStation(SeedSession("c1", "t2", start), "jeju")).session.tariff_id,
            "default");
}

// The "tariff change during a session": the version in force at the first event keeps
// pricing the session; sessions that start later take the new one.
TEST_F(TariffLedgerTest, ASessionKeepsTheVersionInForceWhenItStarted) {
  const TimePoint start = At("2026-11-23T10:00:00Z");
  Put(EnergyTariff("default", 150), start - minutes(60));
  const std::vector<TransactionEvent> events = SeedSession("c1", "t1", start);
  store_->Record(events[0]);
  v1::Tariff dearer = EnergyTariff("default", 300);
  *dearer.mutable_valid_from() = ToProto(start + minutes(5));
  EXPECT_EQ(Put(dearer, start + minutes(5)).version(), 2);
  store_->Record(events[1]);
  const RecordResult ended = store_->Record(events[2]);
  EXPECT_EQ(ended.session.tariff_version, 1);
  EXPECT_EQ(ended.session.cost.total_minor, 3825);

  const RecordResult later = RecordAll(SeedSession("c1", "t2", start + minutes(40)));
  EXPECT_EQ(later.session.tariff_version, 2);
  EXPECT_EQ(later.session.cost.total_minor, 7650);

  // A session whose first event predates version 2 (an offline backlog) still gets version 1.
  const RecordResult backlog = RecordAll(SeedSession("c1", "t3", start - minutes(30)));
  EXPECT_EQ(backlog.session.tariff_version, 1);
}

// Time prices need the charging states of every event; the running cost counts up to the
// latest event, the final one to the end.
TEST_F(TariffLedgerTest, ChargingTimeAndIdleFeeFromChargingStates) {
  v1::Tariff timed = EnergyTariff("default", 150);
  timed.set_charging_price_per_minute(10);
  timed.set_idle_price_per_minute(20);
  timed.set_idle_grace_minutes(5);
  Put(timed);
  const TimePoint t0 = At("2026-11-23T10:00:00Z");
  TransactionEvent started = MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "c1", "t1", 0, t0, 0);
  started.set_charging_state("Charging");
  TransactionEvent full =
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "c1", "t1", 1, t0 + minutes(30), 10'000);
  full.set_charging_state("SuspendedEV");
  TransactionEvent still_there =
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "c1", "t1", 2, t0 + minutes(40), 10'000);
  TransactionEvent unplugged =
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "c1", "t1", 3, t0 + minutes(50), 10'000);
  unplugged.set_charging_state("Idle");
  unplugged.set_stopped_reason("EVDisconnected");

  store_->Record(started);
  const RecordResult running = store_->Record(full);
  EXPECT_EQ(running.session.cost.charging_ms, 30 * 60'000);
  EXPECT_EQ(running.session.cost.total_minor, 1500 + 300);  // 10 kWh × 150 + 30 min × 10

  // Arriving out of order changes nothing: every state is read back.
  const RecordResult ended = store_->Record(unplugged);
  const RecordResult last = store_->Record(still_there);
  EXPECT_EQ(ended.session.cost.total_minor, last.session.cost.total_minor);
  // 20 min plugged in after charging, 5 of them grace: 15 × 20.
  EXPECT_EQ(last.session.cost.idle_ms, 15 * 60'000);
  EXPECT_EQ(last.session.cost.idle_micros, 300'000'000);
  EXPECT_EQ(last.session.cost.charging_time_micros, 300'000'000);
  EXPECT_EQ(last.session.cost.total_minor, 1500 + 300 + 300);
  EXPECT_EQ(last.session.cost_hundredths, 210'000);

  const auto stats = store_->GetDailyStats("c1", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, 2100);
}

// Time of use in the tariff's own zone: 09:00-18:00 Seoul time at 300, else 150. A session from
// 17:30 to 18:30 Seoul (08:30-09:30 UTC) at a steady 20 kW meters 10 kWh in each half.
TEST_F(TariffLedgerTest, TimeOfUseSharesEnergyAcrossTheBoundary) {
  v1::Tariff tou = EnergyTariff("default", 150);
  tou.set_time_zone("Asia/Seoul");
  v1::TariffPeriod* day = tou.add_periods();
  day->set_start_time("09:00");
  day->set_end_time("18:00");
  day->set_energy_price_per_kwh(300);
  Put(tou);
  const TimePoint t0 = At("2026-11-23T08:30:00Z");
  const RecordResult r = RecordAll({
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "c1", "t1", 0, t0, 0),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "c1", "t1", 1, t0 + minutes(20), 6'667),
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "c1", "t1", 2, t0 + minutes(60), 20'000),
  });
  EXPECT_EQ(r.session.energy_wh, 20'000);
  EXPECT_EQ(r.session.cost.total_minor, 10 * 300 + 10 * 150);
}

TEST_F(TariffLedgerTest, TariffsAreVersionedAndChecked) {
  Put(EnergyTariff("ac", 150));
  Put(EnergyTariff("ac", 170));
  Put(EnergyTariff("dc", 300));
  const auto versions = store_->tariffs().List("ac");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version(), 1);
  EXPECT_DOUBLE_EQ(versions[1].energy_price_per_kwh(), 170);
  EXPECT_EQ(versions[1].time_zone(), "Asia/Seoul");  // the billing default, filled in
  const auto newest = store_->tariffs().List("");
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].tariff_id(), "ac");
  EXPECT_EQ(newest[0].version(), 2);
  EXPECT_EQ(store_->tariffs().Get("ac", 1)->energy_price_per_kwh(), 150);
  EXPECT_FALSE(store_->tariffs().Get("ac", 3));
  EXPECT_FALSE(store_->tariffs().Get("none", 0));

  v1::Tariff euro = EnergyTariff("eur", 0.35);
  euro.set_currency("EUR");
  EXPECT_THROW(Put(euro), InvalidTariff);
  EXPECT_THROW(Put(EnergyTariff("bad id!", 1)), InvalidTariff);
  EXPECT_THROW(store_->tariffs().SetStationTariff("jeju", "missing"), UnknownTariff);
  EXPECT_EQ(store_->tariffs().GetStationTariff("jeju").tariff_id(), "");
  EXPECT_EQ(store_->tariffs().SetStationTariff("jeju", "dc").tariff_id(), "dc");
  EXPECT_EQ(store_->tariffs().GetStationTariff("jeju").tariff_id(), "dc");
}

}  // namespace
}  // namespace csms::billing
