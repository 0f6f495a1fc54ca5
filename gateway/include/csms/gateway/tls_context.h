#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "csms/common/file_stamp.h"

// The TLS side of the OCPP port for security profiles 2 and 3 (OCPP 2.0.1 Part 2 §A00.FR.3xx,
// .4xx): server contexts built from PEM files, rebuilt when the files change.
namespace csms::gateway {

struct OcppTlsOptions {
  // PEM chains (leaf first) and their keys, one pair per key type: OCPP needs both RSA
  // (TLS_RSA_WITH_AES_*_GCM) and ECDSA (TLS_ECDHE_ECDSA_*) certificates.
  std::vector<std::string> cert_files;
  std::vector<std::string> key_files;
  // CA bundle that charger certificates must chain to (profile 3). Empty: none requested.
  std::string client_ca_file;
  // Non-empty: a charger certificate's subject O must equal it (A00.FR.404).
  std::string client_org;
  // How often the files are checked for changes (short-lived certificates, A00.FR.701).
  std::chrono::milliseconds reload_interval{30000};
};

// TLS 1.2 suites: the four OCPP requires (A00.FR.318/421) and their ECDHE-RSA and ChaCha20
// siblings, all AEAD; forward-secret ones preferred. TLS 1.3 uses OpenSSL's default suites.
inline constexpr const char* kOcppTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384";

// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> SplitList(const std::string& text);

// Holds the current server context; sessions take a reference to it when they start, so a
// reload affects new connections only.
class TlsContextSource {
 public:
  explicit TlsContextSource(OcppTlsOptions options) : options_(std::move(options)) {}

  // Builds the first context. False with a message naming the file on any error.
  bool Load(std::string* error);
  // Rebuilds the context if a file changed (FileStamp). A broken new file
  // keeps the old context (and is logged), so a half-written rotation does not stop service.
  void ReloadIfChanged();

  std::shared_ptr<boost::asio::ssl::context> Current() const;
  const OcppTlsOptions& options() const { return options_; }

 private:
  std::vector<FileStamp> Stamps() const;
  std::shared_ptr<boost::asio::ssl::context> Build(std::string* error) const;

  const OcppTlsOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::vector<FileStamp> stamps_;
};

// What a charger's certificate says, read after the TLS handshake.
struct PeerCertificate {
  bool present = false;
  bool verified = false;  // the chain checked out against the client CA
  std::string common_name;
  std::string organization;
};
PeerCertificate InspectPeerCertificate(SSL* ssl);

// The last OpenSSL error as text (empty if none); clears the queue.
std::string OpenSslError();

}  // namespace csms::gateway
