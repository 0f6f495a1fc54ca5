#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "csms/control/registry_store.h"

namespace csms::control {

// Group commit for the gateways' reports. Callers queue writes; each writer thread takes
// everything queued (up to a limit), applies it in one transaction with set-based statements
// (RegistryStore::ApplyBatch) and answers every caller after the commit, so "done" still means
// stored. When a batch fails, its ops are retried one by one, so one bad write fails only its
// own caller.
class WriteBatcher {
 public:
  // `error` is null on success; then `result` is the op's outcome. Runs on a writer thread.
  using Done = std::function<void(std::exception_ptr error, const WriteResult& result)>;

  // max_batch bounds the work of one transaction (a LastSeenOp counts its entries).
  WriteBatcher(RegistryStore& store, int writers = 2, size_t max_batch = 2000);
  ~WriteBatcher();
  WriteBatcher(const WriteBatcher&) = delete;
  WriteBatcher& operator=(const WriteBatcher&) = delete;

  void Submit(WriteOp op, Done done);
  // Submits and waits; rethrows the op's error.
  WriteResult Apply(WriteOp op);

  // Applies what is queued, then stops the writers. Submit after Stop fails the op at once.
  void Stop();

  // Holds the writers until Resume, so tests can fill one batch deterministically.
  void PauseForTest();
  void ResumeForTest();

 private:
  struct Pending {
    WriteOp op;
    Done done;
  };
  void WriterLoop();
  void Run(std::vector<Pending>& batch);

  RegistryStore& store_;
  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool paused_ = false;
  std::vector<std::thread> writers_;
};

}  // namespace csms::control
