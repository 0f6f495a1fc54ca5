#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "csms/control/waiter.h"

namespace csms::control {

// LISTENs on kTransactionEventChannel with its own connection and wakes this replica's
// EventWaiter whenever any replica commits TransactionEvents, so a remote start or stop waiting
// here sees an event stored by another replica at once. Best effort: while the connection is
// down the waiter's periodic poll still finds everything.
class TransactionEventListener {
 public:
  TransactionEventListener(std::string database_url, EventWaiter& waiter);
  ~TransactionEventListener();
  TransactionEventListener(const TransactionEventListener&) = delete;
  TransactionEventListener& operator=(const TransactionEventListener&) = delete;

 private:
  void Loop();

  const std::string url_;
  EventWaiter& waiter_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace csms::control
