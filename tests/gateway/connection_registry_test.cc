#include "csms/gateway/connection_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

namespace csms::gateway {
namespace {

class FakeConnection : public ChargerConnection {
 public:
  FakeConnection(std::string charger_id, std::string connection_id)
      : charger_id_(std::move(charger_id)), connection_id_(std::move(connection_id)) {}
  const std::string& charger_id() const override { return charger_id_; }
  const std::string& connection_id() const override { return connection_id_; }
  void SendCall(std::string, std::string, std::chrono::milliseconds,
                std::function<void(CallOutcome)> done) override {
    done(CallOutcome{});
  }
  void Close(uint16_t code, std::string) override { closed_with = code; }

  int closed_with = 0;

 private:
  std::string charger_id_;
  std::string connection_id_;
};

std::shared_ptr<FakeConnection> Conn(const std::string& charger, const std::string& id) {
  return std::make_shared<FakeConnection>(charger, id);
}

TEST(ConnectionRegistryTest, FirstRegisterReplacesNothing) {
  ConnectionRegistry registry;
  auto a = Conn("CS001", "c-1");
  EXPECT_EQ(registry.Register(a), nullptr);
  EXPECT_EQ(registry.Find("CS001"), a);
  EXPECT_EQ(registry.size(), 1u);
}

TEST(ConnectionRegistryTest, FindUnknownIsNull) {
  ConnectionRegistry registry;
  EXPECT_EQ(registry.Find("nope"), nullptr);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ConnectionRegistryTest, ReplaceReturnsPreviousConnection) {
  ConnectionRegistry registry;
  auto old_conn = Conn("CS001", "c-old");
  auto new_conn = Conn("CS001", "c-new");
  registry.Register(old_conn);
  std::shared_ptr<ChargerConnection> previous = registry.Register(new_conn);
  EXPECT_EQ(previous, old_conn);
  EXPECT_EQ(registry.Find("CS001"), new_conn);
  EXPECT_EQ(registry.size(), 1u);
}

TEST(ConnectionRegistryTest, LateUnregisterOfOldConnectionKeepsNewOne) {
  ConnectionRegistry registry;
  auto old_conn = Conn("CS001", "c-old");
  auto new_conn = Conn("CS001", "c-new");
  registry.Register(old_conn);
  registry.Register(new_conn);
  EXPECT_FALSE(registry.Unregister("CS001", "c-old"));
  EXPECT_EQ(registry.Find("CS001"), new_conn);
  EXPECT_EQ(registry.size(), 1u);
}

TEST(ConnectionRegistryTest, UnregisterOfCurrentConnectionRemovesIt) {
  ConnectionRegistry registry;
  auto conn = Conn("CS001", "c-1");
  registry.Register(conn);
  EXPECT_TRUE(registry.Unregister("CS001", "c-1"));
  EXPECT_EQ(registry.Find("CS001"), nullptr);
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_FALSE(registry.Unregister("CS001", "c-1"));
}

TEST(ConnectionRegistryTest, UnregisterUnknownChargerIsFalse) {
  ConnectionRegistry registry;
  EXPECT_FALSE(registry.Unregister("CS404", "c-1"));
}

TEST(ConnectionRegistryTest, ChargersAreIndependent) {
  ConnectionRegistry registry;
  auto a = Conn("CS001", "c-1");
  auto b = Conn("CS002", "c-2");
  EXPECT_EQ(registry.Register(a), nullptr);
  EXPECT_EQ(registry.Register(b), nullptr);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(registry.Find("CS001"), a);
  EXPECT_EQ(registry.Find("CS002"), b);
  EXPECT_FALSE(registry.Unregister("CS001", "c-2"));
  EXPECT_TRUE(registry.Unregister("CS002", "c-2"));
  EXPECT_EQ(registry.Find("CS001"), a);
}

TEST(ConnectionRegistryTest, AllListsLiveConnections) {
  ConnectionRegistry registry;
  auto a = Conn("CS001", "c-1");
  auto b = Conn("CS002", "c-2");
  registry.Register(a);
  registry.Register(b);
  auto all = registry.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(std::find(all.begin(), all.end(), a), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), b), all.end());
}

TEST(ConnectionRegistryTest, DoesNotKeepConnectionsAlive) {
  ConnectionRegistry registry;
  {
    auto a = Conn("CS001", "c-1");
    registry.Register(a);
  }
  EXPECT_EQ(registry.Find("CS001"), nullptr);
  EXPECT_TRUE(registry.All().empty());
  // A dead entry can be cleaned up by its connection id and is replaced by a new one.
  auto b = Conn("CS001", "c-2");
  EXPECT_EQ(registry.Register(b), nullptr);
  EXPECT_EQ(registry.Find("CS001"), b);
}

}  // namespace
}  // namespace csms::gateway
