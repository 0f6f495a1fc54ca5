#include "csms/control/write_batcher.h"

#include <future>
#include <pqxx/pqxx>

#include "csms/common/log.h"
#include "csms/common/metrics.h"

namespace csms::control {
namespace {

size_t Weight(const WriteOp& op) {
  if (auto* l = std::get_if<LastSeenOp>(&op)) return std::max<size_t>(1, l->entries.size());
  return 1;
}

// A lost database fails every op alike; retrying them one by one would only take longer.
bool IsConnectionFailure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection&) {
    return true;
  } catch (const pqxx::in_doubt_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

WriteBatcher::WriteBatcher(RegistryStore& store, int writers, size_t max_batch)
    : store_(store), max_batch_(std::max<size_t>(1, max_batch)) {
  for (int i = 0; i < std::max(1, writers); ++i) writers_.emplace_back([this] { WriterLoop(); });
}

WriteBatcher::~WriteBatcher() { Stop(); }

void WriteBatcher::Submit(WriteOp op, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(op), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(std::make_exception_ptr(std::runtime_error("control is shutting down")), {});
}

WriteResult WriteBatcher::Apply(WriteOp op) {
  std::promise<WriteResult> promise;
  auto future = promise.get_future();
  Submit(std::move(op), [&promise](std::exception_ptr error, const WriteResult& result) {
    if (error) {
      promise.set_exception(error);
    } else {
      promise.set_value(result);
    }
  });
  return future.get();
}

void WriteBatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    paused_ = false;
  }
  cv_.notify_all();
  for (auto& t : writers_) t.join();
}

void WriteBatcher::PauseForTest() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void WriteBatcher::ResumeForTest() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  cv_.notify_all();
}

void WriteBatcher::WriterLoop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || (!paused_ && !queue_.empty()); });
      if (queue_.empty()) return;  // stopping, and nothing left to apply
      // Whatever queued while the previous transaction ran goes into this one.
      size_t weight = 0;
      while (!queue_.empty() &&
             (batch.empty() || weight + Weight(queue_.front().op) <= max_batch_)) {
        weight += Weight(queue_.front().op);
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // Another writer can start on the rest while this one commits.
      if (!queue_.empty()) cv_.notify_one();
    }
    Run(batch);
  }
}

void WriteBatcher::Run(std::vector<Pending>& batch) {
  static metrics::Histogram& sizes =
      metrics::Registry::Default()
          .AddHistogram("csms_control_write_batch_size",
                        "Gateway reports applied per group-commit transaction.", {},
                        {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000})
          .Get();
  sizes.Observe(static_cast<double>(batch.size()));
  std::vector<const WriteOp*> ops;
  ops.reserve(batch.size());
  for (const auto& p : batch) ops.push_back(&p.op);
  std::exception_ptr error;
  std::vector<WriteResult> results;
  try {
    results = store_.ApplyBatch(ops);
  } catch (...) {
    error = std::current_exception();
  }
  if (!error) {
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(nullptr, results[i]);
    return;
  }
  if (batch.size() == 1 || IsConnectionFailure(error)) {
    for (auto& p : batch) p.done(error, {});
    return;
  }
  CSMS_LOG(kWarn, "control") << "a batch of " << batch.size()
                             << " writes failed; applying them one by one";
  for (auto& p : batch) {
    WriteResult result;
    std::exception_ptr own_error;
    try {
      result = store_.ApplyBatch({&p.op}).at(0);
    } catch (...) {
      own_error = std::current_exception();
    }
    p.done(own_error, result);
  }
}

}  // namespace csms::control
