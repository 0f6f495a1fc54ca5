#include "csms/charger_sim/station_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace csms::sim {

std::string OpenSslError(const std::string& fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::shared_ptr<boost::asio::ssl::context> MakeStationTlsContext(const StationTls& tls,
                                                                 std::string* error) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  const bool ca_ok = tls.ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(native) == 1
                         : SSL_CTX_load_verify_locations(native, tls.ca_file.c_str(), nullptr) == 1;
  if (!ca_ok) {
    *error = "--ca-file " + tls.ca_file + ": " + OpenSslError("cannot load");
    return nullptr;
  }
  if (!tls.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(native, tls.sigalgs.c_str()) != 1) {
    *error = "--tls-sigalgs: " + OpenSslError("not a signature algorithm list");
    return nullptr;
  }
  if (!tls.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(native, tls.cert.c_str()) != 1) {
      *error = "--client-cert " + tls.cert + ": " + OpenSslError("cannot load");
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(native, tls.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(native) != 1) {
      *error = "--client-key " + tls.key + ": " + OpenSslError("does not match the certificate");
      return nullptr;
    }
  }
  return ctx;
}

}  // namespace csms::sim
