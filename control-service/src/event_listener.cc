#include "csms/control/event_listener.h"

#include <chrono>
#include <pqxx/pqxx>

#include "csms/common/log.h"
#include "csms/control/registry_store.h"

namespace csms::control {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, EventWaiter& waiter)
      : pqxx::notification_receiver(conn, kTransactionEventChannel), waiter_(waiter) {}
  void operator()(const std::string&, int) override { waiter_.Notify(); }

 private:
  EventWaiter& waiter_;
};

}  // namespace

TransactionEventListener::TransactionEventListener(std::string database_url, EventWaiter& waiter)
    : url_(std::move(database_url)), waiter_(waiter), thread_([this] { Loop(); }) {}

TransactionEventListener::~TransactionEventListener() {
  stop_.store(true);
  thread_.join();
}

void TransactionEventListener::Loop() {
  bool warned = false;
  while (!stop_.load()) {
    try {
      pqxx::connection conn(url_);
      Receiver receiver(conn, waiter_);
      conn.get_notifs();  // issues the LISTEN
      // Events may have been stored while not listening.
      waiter_.Notify();
      warned = false;
      while (!stop_.load()) conn.await_notification(0, 200000);
    } catch (const std::exception& e) {
      if (!warned) {
        CSMS_LOG(kWarn, "control") << "event listener lost its database connection ("
                                   << log::Sanitize(e.what(), 200) << "); polling meanwhile";
        warned = true;
      }
      for (int i = 0; i < 10 && !stop_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

}  // namespace csms::control
