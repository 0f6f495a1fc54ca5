#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace csms::gateway {

// One io_context per I/O thread. A connection lives on one context for its whole life, so its
// handlers never run concurrently and need no strand: no per-connection strand allocation and
// no cross-thread hand-offs on the hot path.
class IoContextPool {
 public:
  explicit IoContextPool(size_t size);
  ~IoContextPool();
  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  // Starts one thread per context.
  void Run();
  // Stops every context and joins the threads; pending handlers are dropped.
  void Stop();

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& Get(size_t index) { return *contexts_[index]; }
  // Round robin, for spreading new connections over the threads.
  boost::asio::io_context& Next();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace csms::gateway
