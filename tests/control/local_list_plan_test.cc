// The local list planner (D01): which SendLocalList messages bring a charger's list to what it
// should hold, within ItemsPerMessage and BytesPerMessage, with increasing versions.
#include "csms/control/local_list_plan.h"

#include <gtest/gtest.h>

namespace csms::control {
namespace {

using nlohmann::json;

ListEntry Entry(const std::string& id, const std::string& status = "Accepted") {
  return {"ISO14443", id,
          json{{"idToken", {{"idToken", id}, {"type", "ISO14443"}}},
               {"idTokenInfo", {{"status", status}}}}};
}

std::vector<ListEntry> Entries(int n) {
  std::vector<ListEntry> out;
  for (int i = 0; i < n; ++i) out.push_back(Entry("tok-" + std::to_string(i)));
  return out;
}

// Every message keeps both limits, versions rise by one from the first, and only the first of
// a Full plan is Full.
void ExpectWellFormed(const ListPlan& plan, int32_t first_version, bool full,
                      const ListLimits& limits) {
  for (size_t i = 0; i < plan.messages.size(); ++i) {
    const ListMessage& m = plan.messages[i];
    EXPECT_EQ(m.version, first_version + static_cast<int32_t>(i));
    EXPECT_EQ(m.payload["versionNumber"], m.version);
    EXPECT_EQ(m.full, full && i == 0);
    EXPECT_EQ(m.payload["updateType"], m.full ? "Full" : "Differential");
    EXPECT_LE(m.payload.dump().size(), static_cast<size_t>(limits.bytes_per_message));
    const size_t items = m.payload.contains("localAuthorizationList")
                             ? m.payload["localAuthorizationList"].size()
                             : 0;
    EXPECT_LE(items, static_cast<size_t>(limits.items_per_message));
    EXPECT_EQ(items, m.changes.size());
  }
}

struct FullCase {
  const char* name;
  int entries;
  ListLimits limits;
  size_t messages;
};

TEST(PlanFullList, CaseTable) {
  const size_t one = Entry("tok-0").data.dump().size();
  const FullCase cases[] = {
      {"empty list: one Full without entries", 0, {50, 8192}, 1},
      {"fits one message", 5, {50, 8192}, 1},
      {"split by items", 5, {2, 8192}, 3},
      {"exactly items", 4, {2, 8192}, 2},
      // Room for about two entries by bytes (the fixed fields take ~70).
      {"split by bytes", 6, {50, static_cast<int>(80 + 2 * one)}, 3},
  };
  for (const FullCase& c : cases) {
    SCOPED_TRACE(c.name);
    const ListPlan plan = PlanFullList(Entries(c.entries), 7, c.limits);
    EXPECT_EQ(plan.messages.size(), c.messages);
    EXPECT_TRUE(plan.too_big.empty());
    ExpectWellFormed(plan, 7, true, c.limits);
    size_t sent = 0;
    for (const auto& m : plan.messages) sent += m.changes.size();
    EXPECT_EQ(sent, static_cast<size_t>(c.entries));
  }
  // Entries keep their order (most recently used first) across messages.
  const ListPlan plan = PlanFullList(Entries(5), 1, {2, 8192});
  EXPECT_EQ(plan.messages[0].changes[0].first, ListKey("ISO14443", "tok-0"));
  EXPECT_EQ(plan.messages[2].changes[0].first, ListKey("ISO14443", "tok-4"));
  EXPECT_FALSE(plan.messages[0].payload.contains("localAuthorizationList") &&
               plan.messages[0].payload["localAuthorizationList"].empty());
}

TEST(PlanFullList, AnEntryTooBigForAnyMessageIsLeftOut) {
  std::vector<ListEntry> desired = Entries(2);
  desired.insert(desired.begin() + 1, Entry("huge"));
  desired[1].data["idTokenInfo"]["personalMessage"] = {{"format", "UTF8"},
                                                       {"content", std::string(400, 'x')}};
  const ListPlan plan = PlanFullList(desired, 1, {50, 300});
  EXPECT_EQ(plan.too_big, std::vector<std::string>{ListKey("ISO14443", "huge")});
  ExpectWellFormed(plan, 1, true, {50, 300});
  size_t sent = 0;
  for (const auto& m : plan.messages) sent += m.changes.size();
  EXPECT_EQ(sent, 2u);
}

struct DiffCase {
  const char* name;
  std::vector<std::string> held;     // ids the charger holds (all Accepted)
  std::vector<ListEntry> desired;    // what it should hold
  std::vector<std::string> removed;  // in order
  std::vector<std::string> upserted;
};

TEST(PlanDifferentialList, CaseTable) {
  const DiffCase cases[] = {
      {"nothing differs: no message", {"a", "b"}, {Entry("a"), Entry("b")}, {}, {}},
      {"one added", {"a"}, {Entry("a"), Entry("b")}, {}, {"b"}},
      {"one removed", {"a", "b"}, {Entry("a")}, {"b"}, {}},
      {"one changed", {"a"}, {Entry("a", "Blocked")}, {}, {"a"}},
      {"removals before additions", {"a", "b"}, {Entry("c"), Entry("a")}, {"b"}, {"c"}},
      {"everything replaced", {"a", "b"}, {Entry("c"), Entry("d")}, {"a", "b"}, {"c", "d"}},
  };
  for (const DiffCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> current;
    for (const auto& id : c.held) current[ListKey("ISO14443", id)] = Entry(id).data.dump();
    const ListLimits limits{2, 8192};
    const ListPlan plan = PlanDifferentialList(c.desired, current, 11, limits);
    ExpectWellFormed(plan, 11, false, limits);
    std::vector<std::string> removed, upserted;
    for (const auto& m : plan.messages) {
      for (size_t i = 0; i < m.changes.size(); ++i) {
        const json& item = m.payload["localAuthorizationList"][i];
        const std::string id = item["idToken"]["idToken"];
        EXPECT_EQ(m.changes[i].first, ListKey("ISO14443", id));
        if (m.changes[i].second) {
          EXPECT_TRUE(item.contains("idTokenInfo"));
          EXPECT_EQ(*m.changes[i].second, item.dump());
          EXPECT_TRUE(removed.size() == c.removed.size()) << "an addition before a removal";
          upserted.push_back(id);
        } else {
          EXPECT_FALSE(item.contains("idTokenInfo")) << "a removal carries no idTokenInfo";
          EXPECT_EQ(item["idToken"]["type"], "ISO14443");
          removed.push_back(id);
        }
      }
    }
    EXPECT_EQ(removed, c.removed);
    EXPECT_EQ(upserted, c.upserted);
    if (c.removed.empty() && c.upserted.empty()) EXPECT_TRUE(plan.messages.empty());
  }
}

}  // namespace
}  // namespace csms::control
