#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "csms/common/config.h"

namespace csms::auth {

// API roles, ordered: each includes the ones before it. `admin` adds what changes a charger's
// trust, network or firmware (certificates, network profiles, firmware, security variables,
// provisioning); `service` is for the services' own calls to each other (the gateway's reports
// to control and billing, and REST calls it makes on an operator's behalf).
enum class Role { kRead = 1, kOperate = 2, kAdmin = 3, kService = 4 };
std::optional<Role> ParseRole(std::string_view name);
const char* RoleName(Role role);

// One line of the API keys file: `<key id> <role> sha256$<salt hex>$<hash hex>`, where the
// hash is SHA-256(salt || token). Tokens are 256 random bits, so a fast salted hash cannot be
// brute-forced; a slow hash would only cost CPU on every request (see docs/security.md).
struct ApiKey {
  std::string id;
  Role role = Role::kRead;
  std::string salt;  // raw bytes
  std::string hash;  // raw SHA-256, 32 bytes
};

struct Principal {
  std::string key_id;
  Role role = Role::kRead;
};

// Comparison whose time depends only on the lengths, not on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string Sha256(std::string_view data);
std::string ToHex(std::string_view bytes);
// "" when `hex` is not an even-length hex string.
std::optional<std::string> FromHex(std::string_view hex);

// A fresh token: "csms_" + 64 hex digits (256 bits from the OpenSSL CSPRNG).
std::string MintToken();
// The keys-file line for `token` under a fresh 16-byte salt.
std::string KeyLine(const std::string& id, Role role, const std::string& token);

class ApiKeyStore {
 public:
  // Parses the file's text: one key per line, blank lines and lines starting with '#' skipped.
  // False with `error` (naming the line, never its hash) on a malformed line or duplicate id.
  static std::optional<ApiKeyStore> Parse(std::string_view text, std::string* error);
  static std::optional<ApiKeyStore> LoadFile(const std::string& path, std::string* error);

  // The key the token belongs to. Every key is checked, each in constant time.
  std::optional<Principal> Verify(std::string_view token) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

// The REST front calls control with its service token on an operator's behalf and names the
// operator in this metadata; only a service caller is believed (OnBehalfOf).
inline constexpr char kOnBehalfKeyMetadata[] = "x-csms-on-behalf-of-key";
inline constexpr char kOnBehalfRoleMetadata[] = "x-csms-on-behalf-of-role";

// Who a command is from: the caller itself, or (for a service caller that names one) the
// operator it acts for. In open mode (`caller` unset) a named operator is taken as named, and
// otherwise the caller is {"anonymous", admin}, as open mode allows everything.
Principal OnBehalfOf(const grpc::ServerContextBase& context,
                     const std::optional<Principal>& caller);

// The token of an `Authorization: Bearer <token>` value; nullopt for anything else.
std::optional<std::string> BearerToken(std::string_view authorization);

// Token bucket per client address, charged by failed authentications only: `burst` failures
// pass at once, then one more every `refill`. While a client's bucket is empty, its requests
// are refused (429 / RESOURCE_EXHAUSTED) until the next token is due.
class FailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  FailureLimiter(int burst, std::chrono::milliseconds refill) : burst_(burst), refill_(refill) {}
  // Seconds until `client` may try again; 0 when not blocked.
  int BlockedFor(const std::string& client, Clock::time_point now = Clock::now());
  void RecordFailure(const std::string& client, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void Refill(Bucket& bucket, Clock::time_point now) const;
  const int burst_;
  const std::chrono::milliseconds refill_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

// What a request gets from the authenticator.
enum class Outcome { kAllowed, kUnauthenticated, kForbidden, kRateLimited };
struct Decision {
  Outcome outcome = Outcome::kAllowed;
  std::optional<Principal> principal;
  int retry_after_s = 0;  // kRateLimited only
};

// Keys + limiter + the failure log, shared by the REST front and the gRPC services. With no
// keys (open mode) every request is allowed.
class Authenticator {
 public:
  // Limit: 10 failures at once per address, then one every 6 s.
  explicit Authenticator(std::shared_ptr<const ApiKeyStore> keys, int burst = 10,
                         std::chrono::milliseconds refill = std::chrono::seconds(6));
  ~Authenticator();
  bool enabled() const { return enabled_; }

  // Re-reads `path` every `interval` when its modification time or size changed, so keys are
  // added and revoked without a restart. A file that does not load keeps the current keys (and
  // is logged). Only for an enabled authenticator.
  void WatchKeysFile(const std::string& path, std::chrono::milliseconds interval,
                     const char* component);
  // `token` is nullopt when the request carried none. `what` names the route or method for the
  // log; `client` is the peer address. The token itself is never logged.
  Decision Check(const std::optional<std::string>& token, Role required, const std::string& client,
                 const std::string& what);
  // For gRPC handlers: reads `authorization` metadata; OK, UNAUTHENTICATED, PERMISSION_DENIED
  // or RESOURCE_EXHAUSTED.
  // `who`, when given, receives the caller (unset in open mode).
  grpc::Status CheckGrpc(const grpc::ServerContextBase& context, Role required, const char* method,
                         std::optional<Principal>* who = nullptr);

 private:
  std::shared_ptr<const ApiKeyStore> Keys() const;

  const bool enabled_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const ApiKeyStore> keys_;  // replaced whole on reload
  FailureLimiter limiter_;
  // The keys-file watcher.
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

// Adds --api-keys-file and --api-auth (keys | off) to a service's flags.
std::vector<FlagSpec> WithApiAuthFlags(std::vector<FlagSpec> specs);
// Loads --api-keys-file. Authentication is on by default: without a keys file the service
// refuses to start unless --api-auth off says, deliberately, that anyone reaching its ports may
// do anything (logged loudly). Exits the process (2) on a missing, unreadable or malformed file.
std::shared_ptr<Authenticator> LoadAuthenticatorOrExit(const Config& config, const char* component);
// The first line of a token file, trimmed; exits (2) when it cannot be read or is empty. Warns
// (FilePermissionWarning) when the file is open to other users.
std::string ReadTokenFileOrExit(const std::string& path, const char* component);

// What is wrong with the permissions of a file the service trusts; empty when nothing is (or the
// file cannot be examined). A `secret` (token, private key) must not be readable by others:
// owner, or owner and group (Kubernetes mounts Secrets 0440 with the pod's fsGroup). No trusted
// file, secret or not (the keys file: whoever can write it can add a key), may be writable by
// group or others.
std::string FilePermissionWarning(const std::string& path, bool secret);
// Logs FilePermissionWarning at WARN, naming `what` (e.g. "--service-token-file").
void WarnIfFileExposed(const std::string& path, bool secret, const char* what,
                       const char* component);

// `csms-* --mint-api-key <id> <role>`: prints the token and its keys-file line and returns
// the exit code; nullopt when argv does not ask for it.
std::optional<int> MaybeMintApiKey(int argc, char** argv);

}  // namespace csms::auth
