#include "csms/gateway/io_context_pool.h"

#include <algorithm>

namespace csms::gateway {

IoContextPool::IoContextPool(size_t size) {
  size = std::max<size_t>(1, size);
  for (size_t i = 0; i < size; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so asio may skip locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoContextPool::~IoContextPool() { Stop(); }

void IoContextPool::Run() {
  for (auto& context : contexts_) threads_.emplace_back([&context] { context->run(); });
}

void IoContextPool::Stop() {
  guards_.clear();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

boost::asio::io_context& IoContextPool::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace csms::gateway
