#include "csms/gateway/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "csms/common/log.h"

namespace csms::gateway {

namespace ssl = boost::asio::ssl;

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

std::string OpenSslError() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

bool TlsContextSource::Load(std::string* error) {
  if (options_.cert_files.empty() || options_.cert_files.size() != options_.key_files.size()) {
    *error =
        "--ocpp-tls-cert and --ocpp-tls-key must name the same number of files (one "
        "certificate chain and key per key type)";
    return false;
  }
  auto stamps = Stamps();
  auto context = Build(error);
  if (!context) return false;
  std::lock_guard lock(mu_);
  current_ = std::move(context);
  stamps_ = std::move(stamps);
  return true;
}

void TlsContextSource::ReloadIfChanged() {
  auto stamps = Stamps();
  {
    std::lock_guard lock(mu_);
    if (stamps == stamps_) return;
  }
  std::string error;
  auto context = Build(&error);
  std::lock_guard lock(mu_);
  stamps_ = std::move(stamps);  // a broken file is reported once, not on every check
  if (!context) {
    CSMS_LOG(kError, "gateway") << "OCPP TLS files changed but cannot be loaded, keeping the "
                                   "previous certificates: "
                                << error;
    return;
  }
  current_ = std::move(context);
  CSMS_LOG(kInfo, "gateway") << "OCPP TLS certificates reloaded; new connections use them";
}

std::shared_ptr<ssl::context> TlsContextSource::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::vector<FileStamp> TlsContextSource::Stamps() const {
  std::vector<std::string> files = options_.cert_files;
  files.insert(files.end(), options_.key_files.begin(), options_.key_files.end());
  if (!options_.client_ca_file.empty()) files.push_back(options_.client_ca_file);
  std::vector<FileStamp> stamps;
  for (const auto& file : files) stamps.push_back(StampOf(file));
  return stamps;
}

std::shared_ptr<ssl::context> TlsContextSource::Build(std::string* error) const {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  auto fail = [&](const std::string& what) {
    *error = what + ": " + OpenSslError();
    return nullptr;
  };
  // TLS 1.2+ only (A00.FR.315/418), no compression (A00.FR.321), no renegotiation; the
  // server's order of suites wins so clients get the forward-secret ones when they can.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return fail("TLS minimum version");
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle chargers are the common case: OpenSSL frees its record buffers between messages.
  // Partial writes and a moving write buffer are what TlsSocket's retries rely on.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(ctx, kOcppTls12Ciphers) != 1) return fail("TLS 1.2 cipher list");
  for (size_t i = 0; i < options_.cert_files.size(); ++i) {
    const auto& cert = options_.cert_files[i];
    const auto& key = options_.key_files[i];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
      return fail("cannot load certificate chain " + cert);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail("cannot load private key " + key);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail("private key " + key + " does not match certificate " + cert);
    }
  }
  // Resumed sessions carry the peer certificate; the id context keeps sessions of this
  // listener from being resumed anywhere else.
  static constexpr unsigned char kSessionContext[] = "csms-ocpp";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (!options_.client_ca_file.empty()) {
    const char* ca = options_.client_ca_file.c_str();
    if (SSL_CTX_load_verify_locations(ctx, ca, nullptr) != 1) {
      return fail("cannot load charger CA " + options_.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca);
    if (names == nullptr) return fail("no CA names in " + options_.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    // Ask for a certificate, do not demand one: profile 2 chargers have none. A certificate
    // that is sent must verify, or the handshake fails (A00.FR.407/408).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return context;
}

namespace {

std::string NameEntry(X509_NAME* name, int nid) {
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

PeerCertificate InspectPeerCertificate(SSL* ssl) {
  PeerCertificate peer;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return peer;
  peer.present = true;
  peer.verified = SSL_get_verify_result(ssl) == X509_V_OK;
  X509_NAME* subject = X509_get_subject_name(cert);
  peer.common_name = NameEntry(subject, NID_commonName);
  peer.organization = NameEntry(subject, NID_organizationName);
  X509_free(cert);
  return peer;
}

}  // namespace csms::gateway
