#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace csms::gateway {

// Splits "host:port" ("0.0.0.0:9000", "[::1]:9000"). False if malformed.
bool SplitHostPort(const std::string& host_port, std::string* host, unsigned short* port);

// Opens, binds and listens `acceptor` on host:port; false with a message on failure.
bool BindAcceptor(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host_port,
                  std::string* error);

}  // namespace csms::gateway
