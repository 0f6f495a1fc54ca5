#include "csms/gateway/listener.h"

namespace csms::gateway {

bool SplitHostPort(const std::string& host_port, std::string* host, unsigned short* port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 >= host_port.size()) return false;
  std::string h = host_port.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  try {
    size_t used = 0;
    int p = std::stoi(host_port.substr(colon + 1), &used);
    if (p < 0 || p > 65535 || used != host_port.size() - colon - 1) return false;
    *port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    return false;
  }
  *host = h.empty() ? "0.0.0.0" : h;
  return true;
}

bool BindAcceptor(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host_port,
                  std::string* error) {
  namespace net = boost::asio;
  std::string host;
  unsigned short port;
  if (!SplitHostPort(host_port, &host, &port)) {
    *error = "bad listen address '" + host_port + "' (want host:port)";
    return false;
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    *error = "bad listen host '" + host + "': " + ec.message();
    return false;
  }
  net::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + host_port + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace csms::gateway
