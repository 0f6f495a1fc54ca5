// J: metering. MeterValues outside a transaction go into the charger's event log as reported,
// one entry per message (type: the reading context of its first sample, "Sample.Periodic" when
// it names none, as OCPP's default), and are answered once stored. They are never billed from
// (DIGEST §4.6): billing reads meter values only from TransactionEvents.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/meter_values.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddMeteringRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::MeterValuesRequest>([&ctx](const auto& call, auto respond) {
    const v201::MeterValuesRequest& r = call.request;
    v201::ReadingContextEnum context = v201::ReadingContextEnum::kSamplePeriodic;
    if (!r.meter_value.empty() && !r.meter_value[0].sampled_value.empty()) {
      context = r.meter_value[0].sampled_value[0].context.value_or(context);
    }
    auto event = MakeChargerEvent(*call.station, r.kAction, std::string(v201::ToString(context)),
                                  ctx.clock.Now(), ocpp::Encode(r));
    event.set_evse_id(r.evse_id);  // 0: the station's main meter
    if (!r.meter_value.empty()) {
      *event.mutable_occurred_at() =
          ToProto(RequireTime(r.meter_value[0].timestamp, "meterValue[0].timestamp"));
    }
    RecordThenAnswer(ctx, {std::move(event)}, std::move(respond));
  });
}

}  // namespace csms::gateway::ocpp201
