#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

// A server-side TLS stream for the OCPP port that keeps no buffers of its own.
//
// asio::ssl::stream stages every byte through two 17 KiB vectors and an OpenSSL BIO pair of two
// more 17 KiB halves: about 68 KiB per connection that stay allocated while the charger is idle,
// which is most of the time. Here OpenSSL reads and writes the non-blocking socket itself
// (a socket BIO), Asio only waits for readiness, and SSL_MODE_RELEASE_BUFFERS lets OpenSSL free
// its record buffers between messages. What remains per idle connection is the SSL object.
//
// Models Beast's AsyncStream for one reader and one writer at a time, all on the socket's
// executor (one thread per io_context here), which is how OpenSSL allows a non-blocking SSL
// object to be shared by a pending read and a pending write.
namespace csms::gateway {

class TlsSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;
  using lowest_layer_type = socket_type;

  // Takes the accepted socket; `ctx` must outlive nothing here (the SSL object holds a reference).
  TlsSocket(socket_type socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);  // OpenSSL must never block the I/O thread
    if (ssl_ != nullptr) {
      SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
      SSL_set_accept_state(ssl_);
    }
  }
  ~TlsSocket() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& next_layer() noexcept { return socket_; }
  SSL* native_handle() noexcept { return ssl_; }

  // Runs the server side of the TLS handshake.
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::system::error_code)>(
        [this](auto h) { Op<HandshakeStep, decltype(h)>(*this, HandshakeStep{}, std::move(h))(); },
        handler);
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
        [this](auto h, const MutableBuffers& b) {
          Op<ReadStep<MutableBuffers>, decltype(h)>(*this, ReadStep<MutableBuffers>{b},
                                                    std::move(h))();
        },
        handler, buffers);
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
        [this](auto h, const ConstBuffers& b) {
          Op<WriteStep<ConstBuffers>, decltype(h)>(*this, WriteStep<ConstBuffers>{b},
                                                   std::move(h))();
        },
        handler, buffers);
  }

  // Sends close_notify once if it can go out now; never waits for the peer's.
  void SendCloseNotify() {
    if (ssl_ == nullptr || !SSL_is_init_finished(ssl_) ||
        (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN))
      return;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }

 private:
  // The result of one attempt: done (with error or bytes), or wait for the socket to become
  // readable or writable and try again.
  struct Attempt {
    enum class Next { kDone, kWaitRead, kWaitWrite } next = Next::kDone;
    boost::system::error_code ec;
    std::size_t bytes = 0;
  };

  // Maps an OpenSSL result (`rc` <= 0) to an attempt, the way asio::ssl::stream reports errors.
  static Attempt Classify(SSL* ssl, int rc) {
    Attempt a;
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ) {
      a.next = Attempt::Next::kWaitRead;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      a.next = Attempt::Next::kWaitWrite;
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      a.ec = boost::asio::error::eof;  // the peer's close_notify
    } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      a.ec = errno != 0 ? boost::system::error_code(errno, boost::system::system_category())
                        : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
    } else {
      a.ec = boost::system::error_code(static_cast<int>(ERR_get_error()),
                                       boost::asio::error::get_ssl_category());
      if (!a.ec) a.ec = boost::asio::ssl::error::unspecified_system_error;
    }
    ERR_clear_error();
    return a;
  }

  struct HandshakeStep {
    using Signature = void(boost::system::error_code);
    Attempt Try(TlsSocket& s) {
      if (s.ssl_ == nullptr) return {Attempt::Next::kDone, boost::asio::error::no_memory, 0};
      ERR_clear_error();
      errno = 0;
      int rc = SSL_do_handshake(s.ssl_);
      return rc == 1 ? Attempt{} : Classify(s.ssl_, rc);
    }
  };

  template <class Buffers>
  struct ReadStep {
    using Signature = void(boost::system::error_code, std::size_t);
    Buffers buffers;
    Attempt Try(TlsSocket& s) {
      // One record per call into the first non-empty buffer; the caller asks again for more.
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::mutable_buffer b = *it;
        if (b.size() == 0) continue;
        ERR_clear_error();
        errno = 0;
        int rc = SSL_read(s.ssl_, b.data(), static_cast<int>(std::min<size_t>(b.size(), INT_MAX)));
        if (rc > 0) return {Attempt::Next::kDone, {}, static_cast<std::size_t>(rc)};
        return Classify(s.ssl_, rc);
      }
      return {};  // nothing to read into: done, 0 bytes
    }
  };

  template <class Buffers>
  struct WriteStep {
    using Signature = void(boost::system::error_code, std::size_t);
    Buffers buffers;
    Attempt Try(TlsSocket& s) {
      // Small gathered writes (a WebSocket header and its payload) go out as one TLS record:
      // they are copied into a per-thread scratch buffer. A retry after WANT_WRITE copies the
      // same bytes again (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows the new address).
      thread_local std::array<char, 16384> scratch;
      const std::size_t total = boost::asio::buffer_size(buffers);
      if (total == 0) return {};
      const void* data = nullptr;
      std::size_t size = 0;
      auto first = boost::asio::buffer_sequence_begin(buffers);
      for (auto it = first; it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::const_buffer b = *it;
        if (b.size() == 0) continue;
        data = b.data();
        size = b.size();
        break;
      }
      if (size < total && total <= scratch.size()) {
        size = boost::asio::buffer_copy(boost::asio::buffer(scratch), buffers);
        data = scratch.data();
      }
      ERR_clear_error();
      errno = 0;
      int rc = SSL_write(s.ssl_, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
      if (rc > 0) return {Attempt::Next::kDone, {}, static_cast<std::size_t>(rc)};
      return Classify(s.ssl_, rc);
    }
  };

  // Tries the step; waits for readiness and tries again until it is done. A result available
  // at once is posted, so the handler never runs inside the initiating call.
  template <class Step, class Handler>
  struct Op {
    Op(TlsSocket& s, Step st, Handler h) : socket(&s), step(std::move(st)), handler(std::move(h)) {}
    TlsSocket* socket;
    Step step;
    Handler handler;
    bool waited = false;

    void operator()(boost::system::error_code wait_error = {}) {
      Attempt a;
      if (wait_error) {
        a.ec = wait_error;
      } else {
        a = step.Try(*socket);
      }
      if (a.next != Attempt::Next::kDone) {
        waited = true;
        auto kind =
            a.next == Attempt::Next::kWaitRead ? socket_type::wait_read : socket_type::wait_write;
        TlsSocket* s = socket;
        s->socket_.async_wait(kind, std::move(*this));
        return;
      }
      Complete(a);
    }

    void Complete(const Attempt& a) {
      auto ex = socket->socket_.get_executor();
      if constexpr (std::is_same_v<typename Step::Signature, void(boost::system::error_code)>) {
        auto bound = boost::beast::bind_front_handler(std::move(handler), a.ec);
        waited ? boost::asio::dispatch(ex, std::move(bound))
               : boost::asio::post(ex, std::move(bound));
      } else {
        auto bound = boost::beast::bind_front_handler(std::move(handler), a.ec, a.bytes);
        waited ? boost::asio::dispatch(ex, std::move(bound))
               : boost::asio::post(ex, std::move(bound));
      }
    }

    // Completion handlers keep the caller's executor and allocator.
    using executor_type = boost::asio::associated_executor_t<Handler, TlsSocket::executor_type>;
    executor_type get_executor() const noexcept {
      return boost::asio::get_associated_executor(handler, socket->socket_.get_executor());
    }
    using allocator_type = boost::asio::associated_allocator_t<Handler>;
    allocator_type get_allocator() const noexcept {
      return boost::asio::get_associated_allocator(handler);
    }
  };

  socket_type socket_;
  SSL* ssl_;
};

// WebSocket close: close_notify when it can go out at once, then the TCP teardown Beast does
// for plain sockets (found by argument-dependent lookup).
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, TlsSocket& stream, TeardownHandler&& handler) {
  stream.SendCloseNotify();
  boost::beast::websocket::async_teardown(role, stream.next_layer(),
                                          std::forward<TeardownHandler>(handler));
}

inline void teardown(boost::beast::role_type role, TlsSocket& stream,
                     boost::system::error_code& ec) {
  stream.SendCloseNotify();
  boost::beast::websocket::teardown(role, stream.next_layer(), ec);
}

}  // namespace csms::gateway
