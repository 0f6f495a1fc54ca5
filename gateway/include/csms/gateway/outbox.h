#pragma once

#include <grpcpp/support/status.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "csms/billing/v1/billing.pb.h"
#include "csms/ocpp/v1/events.pb.h"

namespace csms::gateway {

// A local, fsync'd journal of TransactionEvents for the time billing cannot be reached, so a
// charger can still be told "stored" (and stops retrying) without anything being lost. Events
// are replayed to billing in the order they were written once it answers again; billing is
// idempotent on (charger, transaction, dedup key), so a replay after a crash is harmless.
//
// File format: records of [u32 length][u32 crc32][serialized TransactionEvent]; a torn tail
// (crash during a write) is detected by length/CRC and cut off at start-up.
class Outbox {
 public:
  // Delivers one event to billing; OK means committed there.
  using Deliver = std::function<grpc::Status(const ocpp::v1::TransactionEvent&,
                                             billing::v1::RecordTransactionEventResponse*)>;
  // Runs after a replayed event was committed (e.g. to tell control).
  using Delivered = std::function<void(const ocpp::v1::TransactionEvent&,
                                       const billing::v1::RecordTransactionEventResponse&)>;

  Outbox(std::string dir, Deliver deliver, Delivered delivered);
  ~Outbox();

  // Opens (creating the folder and files) and recovers what an earlier run left. False with a
  // message when the folder is unusable.
  bool Open(std::string* error);
  // Starts the replay thread.
  void Start();
  // Stops replaying; what is not delivered stays on disk for the next start.
  void Stop();

  // True while events wait in the journal: new events must queue behind them to keep order.
  bool HasBacklog() const;
  // Appends and fsyncs (grouped with concurrent appends); `done(true)` once durable.
  void Append(const ocpp::v1::TransactionEvent& event, std::function<void(bool durable)> done);
  // Events written but not yet delivered.
  size_t depth() const;
  // Waits up to `timeout` for the journal to drain (used on SIGTERM).
  bool WaitUntilEmpty(std::chrono::milliseconds timeout);

 private:
  void WriterLoop();
  void ReplayLoop();
  bool ReadRecord(uint64_t offset, ocpp::v1::TransactionEvent* event, uint64_t* next);
  void PersistOffset(uint64_t offset);

  std::string dir_;
  std::string log_path_;
  std::string offset_path_;
  Deliver deliver_;
  Delivered delivered_;
  int fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;
  std::condition_variable replay_cv_;
  std::condition_variable drained_cv_;
  struct PendingAppend {
    std::string record;
    std::function<void(bool)> done;
  };
  std::deque<PendingAppend> pending_;  // waiting for the writer
  uint64_t end_offset_ = 0;            // durable bytes in the log
  uint64_t replay_offset_ = 0;         // first byte not yet delivered
  size_t depth_ = 0;                   // records written (or being written) but not delivered
  bool stopping_ = false;
  std::thread writer_;
  std::thread replayer_;
};

}  // namespace csms::gateway
