#include "csms/billing/event_batcher.h"

#include <algorithm>

namespace csms::billing {

EventBatcher::EventBatcher(LedgerStore& store, Options options) : store_(store), options_(options) {
  const int writers = std::max(1, options_.writers);
  for (int i = 0; i < writers; ++i) writers_.emplace_back([this] { WriterLoop(); });
}

EventBatcher::~EventBatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& writer : writers_) writer.join();
}

void EventBatcher::Submit(ocpp::v1::TransactionEvent event, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::move(event), std::move(done)});
  }
  cv_.notify_one();
}

void EventBatcher::WriterLoop() {
  const size_t max_batch = std::max<size_t>(1, options_.max_batch);
  std::vector<Pending> batch;
  std::vector<const ocpp::v1::TransactionEvent*> events;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to store
      const size_t n = std::min(queue_.size(), max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // More than one batch's worth waiting: let another writer start on the rest now.
      if (!queue_.empty()) cv_.notify_one();
    }
    events.clear();
    for (const Pending& pending : batch) events.push_back(&pending.event);
    std::vector<RecordOutcome> outcomes;
    try {
      outcomes = store_.RecordBatch(events);
    } catch (...) {
      // RecordBatch reports per event; this is only for what it cannot (e.g. out of memory).
      outcomes.assign(batch.size(), RecordOutcome{std::nullopt, std::current_exception()});
    }
    ++batches_;
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
  }
}

}  // namespace csms::billing
