#include "csms/common/api_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "csms/common/file_stamp.h"
#include "csms/common/log.h"

namespace csms::auth {

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "operate") return Role::kOperate;
  if (name == "admin") return Role::kAdmin;
  if (name == "service") return Role::kService;
  return std::nullopt;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kOperate:
      return "operate";
    case Role::kAdmin:
      return "admin";
    case Role::kService:
      return "service";
  }
  return "?";
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

namespace {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("no randomness from OpenSSL");
  }
  return out;
}

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::string MintToken() { return "csms_" + ToHex(RandomBytes(32)); }

std::string KeyLine(const std::string& id, Role role, const std::string& token) {
  const std::string salt = RandomBytes(16);
  return id + " " + RoleName(role) + " sha256$" + ToHex(salt) + "$" + ToHex(Sha256(salt + token));
}

std::optional<ApiKeyStore> ApiKeyStore::Parse(std::string_view text, std::string* error) {
  ApiKeyStore store;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string id, role_name, hash_field, extra;
    if (!(fields >> id) || id[0] == '#') continue;
    auto fail = [&](const std::string& why) {
      *error = "line " + std::to_string(number) + ": " + why;
      return std::nullopt;
    };
    if (!(fields >> role_name >> hash_field) || (fields >> extra)) {
      return fail("expected '<key id> <role> sha256$<salt>$<hash>'");
    }
    if (!ValidKeyId(id)) return fail("key id must be 1-64 of [A-Za-z0-9._-]");
    auto role = ParseRole(role_name);
    if (!role) return fail("role must be read, operate or service");
    constexpr std::string_view kScheme = "sha256$";
    auto dollar = hash_field.find('$', kScheme.size());
    if (hash_field.rfind(kScheme, 0) != 0 || dollar == std::string::npos) {
      return fail("hash must be sha256$<salt hex>$<hash hex>");
    }
    auto salt =
        FromHex(std::string_view(hash_field).substr(kScheme.size(), dollar - kScheme.size()));
    auto hash = FromHex(std::string_view(hash_field).substr(dollar + 1));
    if (!salt || salt->size() < 8 || !hash || hash->size() != 32) {
      return fail("hash must be sha256$<salt hex, 8+ bytes>$<64 hex digits>");
    }
    for (const auto& key : store.keys_) {
      if (key.id == id) return fail("duplicate key id " + id);
    }
    store.keys_.push_back(ApiKey{id, *role, std::move(*salt), std::move(*hash)});
  }
  if (store.keys_.empty()) {
    *error = "no keys";
    return std::nullopt;
  }
  return store;
}

std::optional<ApiKeyStore> ApiKeyStore::LoadFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto store = Parse(text.str(), error);
  if (!store) *error = path + ": " + *error;
  return store;
}

std::optional<Principal> ApiKeyStore::Verify(std::string_view token) const {
  std::optional<Principal> found;
  // No early exit: the time taken does not tell which key (or whether any) matched.
  for (const auto& key : keys_) {
    std::string candidate = Sha256(key.salt + std::string(token));
    if (ConstantTimeEquals(candidate, key.hash) && !found) found = Principal{key.id, key.role};
  }
  return found;
}

Principal OnBehalfOf(const grpc::ServerContextBase& context,
                     const std::optional<Principal>& caller) {
  const auto& metadata = context.client_metadata();
  auto read = [&metadata](const char* key) -> std::optional<std::string> {
    auto it = metadata.find(key);
    if (it == metadata.end()) return std::nullopt;
    return std::string(it->second.data(), it->second.size());
  };
  const bool trusted = !caller || caller->role == Role::kService;
  if (trusted) {
    auto key = read(kOnBehalfKeyMetadata);
    auto role_name = read(kOnBehalfRoleMetadata);
    auto role = role_name ? ParseRole(*role_name) : std::nullopt;
    // A service may act for an operator, never for another service.
    if (key && !key->empty() && role && *role != Role::kService) return Principal{*key, *role};
  }
  if (caller) return *caller;
  return Principal{"anonymous", Role::kAdmin};
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

void FailureLimiter::Refill(Bucket& bucket, Clock::time_point now) const {
  if (now <= bucket.updated) return;
  const double gained =
      std::chrono::duration<double>(now - bucket.updated) / std::chrono::duration<double>(refill_);
  bucket.tokens = std::min<double>(burst_, bucket.tokens + gained);
  bucket.updated = now;
}

int FailureLimiter::BlockedFor(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) return 0;
  Refill(it->second, now);
  if (it->second.tokens >= 1) {
    if (it->second.tokens >= burst_) buckets_.erase(it);  // full again: forget the client
    return 0;
  }
  const double wait = (1 - it->second.tokens) * std::chrono::duration<double>(refill_).count();
  return std::max(1, static_cast<int>(wait + 0.999));
}

void FailureLimiter::RecordFailure(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  // Bounded memory under a flood of addresses: drop the buckets that have refilled.
  if (buckets_.size() > 100000) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      Refill(it->second, now);
      it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(client, Bucket{static_cast<double>(burst_), now});
  Refill(it->second, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

Authenticator::Authenticator(std::shared_ptr<const ApiKeyStore> keys, int burst,
                             std::chrono::milliseconds refill)
    : enabled_(keys != nullptr), keys_(std::move(keys)), limiter_(burst, refill) {}

Authenticator::~Authenticator() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const ApiKeyStore> Authenticator::Keys() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

void Authenticator::WatchKeysFile(const std::string& path, std::chrono::milliseconds interval,
                                  const char* component) {
  if (!enabled_ || watcher_.joinable()) return;
  // Taken now, not on the thread: a change right after this call must not be missed.
  watcher_ = std::thread([this, path, interval, component, seen = StampOf(path)]() mutable {
    // Signals are for the main thread's shutdown handling, whenever this thread was started.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      FileStamp now = StampOf(path);
      if (now == seen) continue;
      seen = now;
      std::string error;
      auto store = ApiKeyStore::LoadFile(path, &error);
      if (!store) {
        CSMS_LOG(kError, component) << "--api-keys-file changed but cannot be loaded, keeping the "
                                       "previous keys: "
                                    << log::Sanitize(error, 300);
        continue;
      }
      CSMS_LOG(kInfo, component) << "API keys reloaded: " << store->size() << " keys";
      std::lock_guard keys_lock(keys_mu_);
      keys_ = std::make_shared<const ApiKeyStore>(std::move(*store));
    }
  });
}

Decision Authenticator::Check(const std::optional<std::string>& token, Role required,
                              const std::string& client, const std::string& what) {
  Decision decision;
  if (!enabled_) return decision;
  if (int wait = limiter_.BlockedFor(client); wait > 0) {
    decision.outcome = Outcome::kRateLimited;
    decision.retry_after_s = wait;
    return decision;
  }
  if (token) decision.principal = Keys()->Verify(*token);
  if (!decision.principal) {
    limiter_.RecordFailure(client);
    decision.outcome = Outcome::kUnauthenticated;
    CSMS_LOG(kWarn, "auth") << "authentication failed (" << (token ? "unknown token" : "no token")
                            << ") from " << log::Sanitize(client, 80) << " for "
                            << log::Sanitize(what, 120);
    return decision;
  }
  if (decision.principal->role < required) {
    decision.outcome = Outcome::kForbidden;
    CSMS_LOG(kWarn, "auth") << "key '" << decision.principal->key_id << "' ("
                            << RoleName(decision.principal->role) << ") refused "
                            << log::Sanitize(what, 120) << " (needs " << RoleName(required)
                            << ") from " << log::Sanitize(client, 80);
  }
  return decision;
}

grpc::Status Authenticator::CheckGrpc(const grpc::ServerContextBase& context, Role required,
                                      const char* method, std::optional<Principal>* who) {
  if (!enabled_) return grpc::Status::OK;
  std::optional<std::string> token;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    token = BearerToken(std::string_view(it->second.data(), it->second.size()));
    if (!token) token = std::string();  // present but not a bearer token: a failure all the same
  }
  std::string peer = context.peer();
  // "ipv4:10.0.0.5:51234" -> "ipv4:10.0.0.5": the port changes with every connection.
  if (auto colon = peer.rfind(':'); colon != std::string::npos && colon > 5) peer.resize(colon);
  Decision d = Check(token, required, peer, method);
  if (who != nullptr) *who = d.principal;
  switch (d.outcome) {
    case Outcome::kAllowed:
      return grpc::Status::OK;
    case Outcome::kUnauthenticated:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing or invalid 'authorization: Bearer <token>' metadata");
    case Outcome::kForbidden:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          std::string(method) + " needs the " + RoleName(required) + " role");
    case Outcome::kRateLimited:
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          "too many failed authentications; retry in " + std::to_string(d.retry_after_s) + " s");
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, "auth");
}

std::vector<FlagSpec> WithApiAuthFlags(std::vector<FlagSpec> specs) {
  specs.push_back({"api-keys-file", "CSMS_API_KEYS_FILE", "",
                   "API keys ('<id> <role> sha256$<salt>$<hash>' lines; --mint-api-key <id> "
                   "<role> makes one); required unless --api-auth off"});
  specs.push_back({"api-auth", "CSMS_API_AUTH", "keys",
                   "keys: every API call needs a bearer token from --api-keys-file; off: no "
                   "authentication at all (demos on a closed network only)"});
  return specs;
}

std::shared_ptr<Authenticator> LoadAuthenticatorOrExit(const Config& config,
                                                       const char* component) {
  const std::string& mode = config.Get("api-auth");
  const std::string& path = config.Get("api-keys-file");
  if (mode != "keys" && mode != "off") {
    CSMS_LOG(kError, component) << "--api-auth must be keys or off";
    std::exit(2);
  }
  if (mode == "off") {
    if (!path.empty()) {
      CSMS_LOG(kError, component) << "--api-auth off contradicts --api-keys-file; give one";
      std::exit(2);
    }
    CSMS_LOG(kWarn, component)
        << "API AUTHENTICATION IS OFF (--api-auth off): anyone who can reach this service's "
           "ports can read everything and start and stop charging. Use it only for demos on a "
           "trusted network.";
    return std::make_shared<Authenticator>(nullptr);
  }
  if (path.empty()) {
    CSMS_LOG(kError, component)
        << "API authentication is on and no --api-keys-file was given. Mint keys with "
           "--mint-api-key <id> <read|operate|admin|service> (docs/security.md), or pass "
           "--api-auth "
           "off for a demo on a trusted network";
    std::exit(2);
  }
  WarnIfFileExposed(path, /*secret=*/false, "--api-keys-file", component);
  std::string error;
  auto store = ApiKeyStore::LoadFile(path, &error);
  if (!store) {
    CSMS_LOG(kError, component) << "--api-keys-file: " << log::Sanitize(error, 300);
    std::exit(2);
  }
  CSMS_LOG(kInfo, component) << "API authentication on: " << store->size() << " keys from "
                             << log::Sanitize(path, 200) << " (re-read when it changes)";
  auto authenticator =
      std::make_shared<Authenticator>(std::make_shared<const ApiKeyStore>(std::move(*store)));
  authenticator->WatchKeysFile(path, std::chrono::seconds(5), component);
  return authenticator;
}

std::string FilePermissionWarning(const std::string& path, bool secret) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return std::string("is writable by ") + ((st.st_mode & S_IWOTH) ? "all users" : "its group") +
           " (mode " + mode + "); chmod go-w it";
  }
  if (secret && (st.st_mode & S_IRWXO)) {
    return std::string("is readable by all users (mode ") + mode + "); chmod o-rwx it (0600)";
  }
  return "";
}

void WarnIfFileExposed(const std::string& path, bool secret, const char* what,
                       const char* component) {
  const std::string warning = FilePermissionWarning(path, secret);
  if (!warning.empty()) {
    CSMS_LOG(kWarn, component) << what << " " << log::Sanitize(path, 200) << " " << warning;
  }
}

std::string ReadTokenFileOrExit(const std::string& path, const char* component) {
  WarnIfFileExposed(path, /*secret=*/true, "token file", component);
  std::ifstream in(path);
  std::string token;
  if (in) std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) {
    CSMS_LOG(kError, component) << "cannot read a token from " << log::Sanitize(path, 200);
    std::exit(2);
  }
  return token;
}

std::optional<int> MaybeMintApiKey(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--mint-api-key") != 0) return std::nullopt;
  std::optional<Role> role;
  if (argc != 4 || !ValidKeyId(argv[2]) || !(role = ParseRole(argv[3]))) {
    std::cerr << "usage: " << argv[0]
              << " --mint-api-key <key id> <read|operate|admin|service>\n"
                 "prints the new token (line 1, give it to its user) and its --api-keys-file "
                 "line (line 2, append it to the file)\n";
    return 2;
  }
  const std::string token = MintToken();
  std::cout << token << "\n" << KeyLine(argv[2], *role, token) << "\n";
  return 0;
}

}  // namespace csms::auth
