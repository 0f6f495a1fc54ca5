// csms-bench-trivial: the smallest Beast WebSocket server that speaks enough OCPP for the load
// generator. It accepts the subprotocol ocpp2.0.1 and answers every CALL `[2,"<id>",...]` with
// `[3,"<id>",{"currentTime":"2026-01-01T00:00:00Z"}]` (a BootNotification also gets
// `"interval":300,"status":"Accepted"`). It shows the load generator's own ceiling. With
// certificate and key files it serves wss:// instead (the load generator's TLS ceiling).
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Ws>
class Session : public std::enable_shared_from_this<Session<Ws>> {
 public:
  explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}
  Session(tcp::socket socket, ssl::context& ctx) : ws_(std::move(socket), ctx) {}

  void Start() {
    if constexpr (std::is_same_v<Ws, TlsWs>) {
      ws_.next_layer().async_handshake(ssl::stream_base::server,
                                       [self = this->shared_from_this()](beast::error_code ec) {
                                         if (!ec) self->ReadUpgrade();
                                       });
    } else {
      ReadUpgrade();
    }
  }

 private:
  void ReadUpgrade() {
    http::async_read(ws_.next_layer(), buf_, req_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec || !websocket::is_upgrade(self->req_)) return;
                       self->Accept();
                     });
  }

  void Accept() {
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, "ocpp2.0.1");
    }));
    ws_.async_accept(req_, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->ws_.text(true);
      self->Read();
    });
  }

  void Read() {
    buf_.consume(buf_.size());
    ws_.async_read(buf_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->Answer();
    });
  }

  void Answer() {
    auto data = buf_.cdata();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    // [2,"<id>",...: the id is the first quoted string.
    auto open = text.find('"');
    auto close = open == std::string_view::npos ? open : text.find('"', open + 1);
    if (close == std::string_view::npos) return Read();
    out_.assign("[3,");
    out_.append(text.substr(open, close - open + 1));
    if (text.find(R"("BootNotification")") != std::string_view::npos) {
      out_.append(R"(,{"currentTime":"2026-01-01T00:00:00Z","interval":300,"status":"Accepted"}])");
    } else {
      out_.append(R"(,{"currentTime":"2026-01-01T00:00:00Z"}])");
    }
    ws_.async_write(net::buffer(out_),
                    [self = this->shared_from_this()](beast::error_code ec, size_t) {
                      if (!ec) self->Read();
                    });
  }

  Ws ws_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  std::string out_;
};

void AcceptLoop(tcp::acceptor& acceptor, ssl::context* tls) {
  acceptor.async_accept([&acceptor, tls](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      if (tls) {
        std::make_shared<Session<TlsWs>>(std::move(socket), *tls)->Start();
      } else {
        std::make_shared<Session<PlainWs>>(std::move(socket))->Start();
      }
    }
    AcceptLoop(acceptor, tls);
  });
}

std::vector<std::string> SplitCommas(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc == 4 || std::string_view(argv[1]) == "--help") {
    std::cerr << "usage: csms-bench-trivial <port> [threads [CERT[,CERT] KEY[,KEY]]]\n"
                 "  with certificates and keys (PEM; e.g. an RSA and an ECDSA pair): wss://\n";
    return argc < 2 || argc == 4 ? 2 : 0;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  std::unique_ptr<ssl::context> tls;
  if (argc > 4) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    auto certs = SplitCommas(argv[3]);
    auto keys = SplitCommas(argv[4]);
    if (certs.size() != keys.size()) {
      std::cerr << "as many keys as certificates, please\n";
      return 2;
    }
    try {
      for (size_t i = 0; i < certs.size(); ++i) {
        tls->use_certificate_chain_file(certs[i]);
        tls->use_private_key_file(keys[i], ssl::context::pem);
      }
    } catch (const std::exception& e) {
      std::cerr << "TLS files: " << e.what() << "\n";
      return 2;
    }
  }
  net::io_context io(threads);
  tcp::acceptor acceptor(io);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"),
                   static_cast<unsigned short>(std::atoi(argv[1])));
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(4096);
  AcceptLoop(acceptor, tls.get());
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
  return 0;
}
