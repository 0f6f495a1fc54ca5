#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "csms/billing/ledger_store.h"

namespace csms::billing {

// Group commit for RecordTransactionEvent. Callers submit events; each writer thread takes
// whatever is queued (up to max_batch events), stores it with LedgerStore::RecordBatch in one
// database transaction and then calls every caller of that batch back with its own outcome,
// after the commit. Under light load a batch is a single event, so nothing waits for company;
// under heavy load batches grow while the previous commit is being flushed.
class EventBatcher {
 public:
  using Done = std::function<void(RecordOutcome)>;

  struct Options {
    int writers = 4;         // concurrent batches (each holds one pooled connection)
    size_t max_batch = 256;  // events per database transaction at most
  };

  EventBatcher(LedgerStore& store, Options options);
  // Stores what is still queued, answers its callers, then stops the writers.
  ~EventBatcher();
  EventBatcher(const EventBatcher&) = delete;
  EventBatcher& operator=(const EventBatcher&) = delete;

  // `done` runs on a writer thread once the event is committed or has failed; it must not
  // block for long.
  void Submit(ocpp::v1::TransactionEvent event, Done done);

  // Database transactions run so far (events / batches is the mean batch size).
  uint64_t batches() const { return batches_; }

 private:
  struct Pending {
    ocpp::v1::TransactionEvent event;
    Done done;
  };
  void WriterLoop();

  LedgerStore& store_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> batches_{0};
  std::vector<std::thread> writers_;
};

}  // namespace csms::billing
