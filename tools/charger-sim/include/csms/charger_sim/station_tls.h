#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

// The TLS side of a charging station (simulator and load generator alike).
namespace csms::sim {

struct StationTls {
  std::string ca_file;  // PEM CAs the CSMS certificate must chain to; empty = the system's
  std::string cert;     // profile 3: PEM certificate (chain) of the station; empty = none
  std::string key;      // its private key
  std::string sigalgs;  // OpenSSL signature algorithm list (picks the CSMS certificate); optional
};

// A client context as a station has one: TLS 1.2 or higher (OCPP A00.FR.315), no compression or
// renegotiation, the CSMS certificate verified, the station's own certificate when given.
// nullptr with a message naming the flag and file on any error.
std::shared_ptr<boost::asio::ssl::context> MakeStationTlsContext(const StationTls& tls,
                                                                 std::string* error);

// The first queued OpenSSL error as text, or `fallback`; clears the queue.
std::string OpenSslError(const std::string& fallback);

}  // namespace csms::sim
