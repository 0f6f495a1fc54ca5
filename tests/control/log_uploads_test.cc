// Log uploads: the state machine (pure) and the store against a real PostgreSQL (tokens, chunks
// stored byte-exact, an attempt replacing another, an incomplete attempt refused, the statuses
// the registry batch applies, housekeeping).
#include <gtest/gtest.h>

#include <deque>
#include <pqxx/pqxx>

#include "csms/common/api_auth.h"
#include "csms/control/log_upload_store.h"
#include "csms/control/migrations.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;

struct StepCase {
  const char* name;
  LogUploadState before;
  const char* input;  // "answer:<status>" or a LogStatusNotification status
  LogUploadState after;
};

LogUploadState Apply(const LogUploadState& upload, std::string_view input) {
  constexpr std::string_view kAnswer = "answer:";
  if (input.substr(0, kAnswer.size()) == kAnswer) {
    return OnLogAnswer(upload, input.substr(kAnswer.size()));
  }
  return OnLogStatus(upload, input);
}

TEST(LogUploadState, CaseTable) {
  const LogUploadState requested{"Requested", "in_progress"};
  const LogUploadState uploading{"Uploading", "in_progress"};
  const StepCase cases[] = {
      {"accepted", requested, "answer:Accepted", {"Accepted", "in_progress"}},
      {"accepted, canceling another",
       requested,
       "answer:AcceptedCanceled",
       {"Accepted", "in_progress"}},
      {"rejected", requested, "answer:Rejected", {"Rejected", "rejected"}},
      {"a status before the answer stays", uploading, "answer:Accepted", uploading},
      {"uploading", {"Accepted", "in_progress"}, "Uploading", uploading},
      {"uploaded", uploading, "Uploaded", {"Uploaded", "uploaded"}},
      {"upload failure", uploading, "UploadFailure", {"UploadFailure", "failed"}},
      {"bad message", uploading, "BadMessage", {"BadMessage", "failed"}},
      {"not supported", requested, "NotSupportedOperation", {"NotSupportedOperation", "failed"}},
      {"permission denied", uploading, "PermissionDenied", {"PermissionDenied", "failed"}},
      {"canceled by a newer request",
       uploading,
       "AcceptedCanceled",
       {"AcceptedCanceled", "canceled"}},
      {"idle moves the state only", uploading, "Idle", {"Idle", "in_progress"}},
      {"final is sticky", {"Uploaded", "uploaded"}, "UploadFailure", {"Uploaded", "uploaded"}},
      {"a late answer does not reopen",
       {"UploadFailure", "failed"},
       "answer:Accepted",
       {"UploadFailure", "failed"}},
  };
  for (const auto& c : cases) EXPECT_EQ(Apply(c.before, c.input), c.after) << c.name;
}

TEST(LogUploadToken, SixtyFourHexDigitsAndNeverTheSame) {
  const std::string a = NewUploadToken(), b = NewUploadToken();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_TRUE(auth::FromHex(a).has_value());
  EXPECT_NE(a, b);
}

class LogUploadStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<LogUploadStore>(*pool_);
  }

  v1::LogUpload Create(const std::string& charger, const std::string& token) {
    NewLogUpload u;
    u.charger_id = charger;
    u.log_type = "DiagnosticsLog";
    u.token = token;
    u.requested_by = "ops-key";
    return store_->Create(u);
  }

  v1::StoreLogUploadChunkRequest Chunk(const std::string& token, const std::string& attempt,
                                       int seq, std::string data, bool last = false,
                                       int64_t size = 0) {
    v1::StoreLogUploadChunkRequest c;
    c.set_token(token);
    c.set_attempt(attempt);
    c.set_seq(seq);
    c.set_data(std::move(data));
    c.set_last(last);
    c.set_filename("diag.log");
    c.set_content_type("text/plain");
    c.set_client_address("10.0.0.7");
    c.set_size_bytes(size);
    return c;
  }

  std::string ReadAll(int64_t upload_id) {
    std::string out;
    for (int32_t chunk = 0;; ++chunk) {
      auto c = store_->ReadChunk(upload_id, chunk);
      if (!c) return out;
      out += c->data;
      if (c->done) return out;
    }
  }

  void Statuses(const std::string& charger, int32_t request_id,
                std::initializer_list<const char*> statuses) {
    std::deque<v1::ChargerEvent> events;
    std::vector<const v1::ChargerEvent*> pointers;
    for (const char* s : statuses) {
      auto& e = events.emplace_back();
      e.set_charger_id(charger);
      e.set_kind("LogStatusNotification");
      e.set_type(s);
      e.set_request_id(request_id);
      pointers.push_back(&e);
    }
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    LogUploadStore::ApplyStatuses(txn, pointers);
    txn.commit();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LogUploadStore> store_;
};

TEST_F(LogUploadStoreTest, ChunksRoundTripByteExactAndTheLastAttemptWins) {
  const std::string token = NewUploadToken();
  const auto created = Create("cp1", token);
  EXPECT_EQ(created.state(), "Requested");
  EXPECT_EQ(created.outcome(), "in_progress");
  ASSERT_TRUE(store_->Open(token));
  EXPECT_FALSE(store_->Open(NewUploadToken()));

  std::string first(1000, '\0'), second = "tail\xff\x00\x01";
  second.push_back('\0');
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<char>(i % 256);
  // An attempt broken off after its first chunk stores nothing visible.
  ASSERT_TRUE(store_->StoreChunk(Chunk(token, "broken", 0, "partial")));
  EXPECT_FALSE(store_->ReadChunk(created.upload_id(), 0));
  // A whole attempt.
  ASSERT_TRUE(store_->StoreChunk(Chunk(token, "a1", 0, first)));
  auto done = store_->StoreChunk(
      Chunk(token, "a1", 1, second, true, static_cast<int64_t>(first.size() + second.size())));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->size_bytes, static_cast<int64_t>(first.size() + second.size()));
  EXPECT_EQ(done->sha256_hex, auth::ToHex(auth::Sha256(first + second)));
  EXPECT_EQ(ReadAll(created.upload_id()), first + second);
  auto stored = store_->Get("cp1", created.upload_id());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->received_filename(), "diag.log");
  EXPECT_EQ(stored->client_address(), "10.0.0.7");
  EXPECT_EQ(stored->sha256(), done->sha256_hex);

  // The charger retries: the new attempt replaces the old content.
  ASSERT_TRUE(store_->StoreChunk(Chunk(token, "a2", 0, "again", true, 5)));
  EXPECT_EQ(ReadAll(created.upload_id()), "again");
  EXPECT_EQ(store_->Get("cp1", created.upload_id())->size_bytes(), 5);
}

TEST_F(LogUploadStoreTest, AnAttemptWhoseChunksDoNotAddUpIsRefused) {
  const std::string token = NewUploadToken();
  const auto created = Create("cp2", token);
  ASSERT_TRUE(store_->StoreChunk(Chunk(token, "a1", 0, "abc", true, 3)));
  // Chunk 0 of a new attempt is missing; and a size that does not match.
  EXPECT_THROW(store_->StoreChunk(Chunk(token, "a2", 1, "def", true, 6)), std::invalid_argument);
  EXPECT_THROW(store_->StoreChunk(Chunk(token, "a3", 0, "def", true, 7)), std::invalid_argument);
  // The earlier content stays.
  EXPECT_EQ(ReadAll(created.upload_id()), "abc");
}

TEST_F(LogUploadStoreTest, StatusesAnswersAndHousekeeping) {
  const std::string token = NewUploadToken();
  const auto created = Create("cp3", token);
  auto answered = store_->Answered("cp3", created.request_id(), "Accepted", "cp3.log");
  EXPECT_EQ(answered.state(), "Accepted");
  EXPECT_EQ(answered.filename(), "cp3.log");
  Statuses("cp3", created.request_id(), {"Uploading", "Uploaded"});
  auto uploaded = store_->Get("cp3", created.upload_id());
  EXPECT_EQ(uploaded->outcome(), "uploaded");
  // Uploaded with no bytes: still the charger's word, with a note.
  EXPECT_NE(uploaded->detail().find("no bytes"), std::string::npos) << uploaded->detail();

  // A newer request the charger accepts by canceling: the older one in progress is canceled.
  const std::string older_token = NewUploadToken();
  const auto older = Create("cp4", older_token);
  store_->Answered("cp4", older.request_id(), "Accepted", "a.log");
  const auto newer = Create("cp4", NewUploadToken());
  store_->Answered("cp4", newer.request_id(), "AcceptedCanceled", "b.log");
  EXPECT_EQ(store_->Get("cp4", older.upload_id())->outcome(), "canceled");
  EXPECT_FALSE(store_->Open(older_token));  // a canceled upload takes no bytes
  EXPECT_EQ(store_->Get("cp4", newer.upload_id())->outcome(), "in_progress");

  // Rejected: the token opens nothing.
  const std::string rejected_token = NewUploadToken();
  const auto rejected = Create("cp5", rejected_token);
  store_->Answered("cp5", rejected.request_id(), "Rejected", "");
  EXPECT_FALSE(store_->Open(rejected_token));

  // An expired token with nothing stored ends `expired`.
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params0("UPDATE log_uploads SET expires_at = now() - interval '1 s' WHERE id = $1",
                     newer.upload_id());
    txn.commit();
  }
  store_->Maintain(std::chrono::hours(24 * 30));
  EXPECT_EQ(store_->Get("cp4", newer.upload_id())->outcome(), "expired");

  // Paging, newest first.
  auto page = store_->List("cp4", 1, "");
  ASSERT_EQ(page.uploads.size(), 1u);
  EXPECT_EQ(page.uploads[0].upload_id(), newer.upload_id());
  auto rest = store_->List("cp4", 1, page.next_cursor);
  ASSERT_EQ(rest.uploads.size(), 1u);
  EXPECT_EQ(rest.uploads[0].upload_id(), older.upload_id());
  EXPECT_TRUE(rest.next_cursor.empty());
}

TEST_F(LogUploadStoreTest, GatewayPublicUrls) {
  EXPECT_EQ(store_->GatewayPublicUrl("10.0.0.1:50053"), "");
  store_->RememberGatewayPublicUrl("10.0.0.1:50053", "https://a.example");
  EXPECT_EQ(store_->GatewayPublicUrl("10.0.0.1:50053"), "https://a.example");
  store_->RememberGatewayPublicUrl("10.0.0.1:50053", "https://b.example");
  EXPECT_EQ(store_->GatewayPublicUrl("10.0.0.1:50053"), "https://b.example");
}

}  // namespace
}  // namespace csms::control
