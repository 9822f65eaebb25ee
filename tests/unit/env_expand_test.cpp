#include <gtest/gtest.h>

#include <map>

#include "core/env_expand.hpp"

using namespace llmproxy::core;

namespace {
EnvLookup Fake(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}
}  // namespace

TEST(EnvExpand, PlainAndDefaults) {
    auto env = Fake({{"A", "1"}, {"EMPTY", ""}});
    EXPECT_EQ(ExpandEnv("x${A}y", env).value, "x1y");
    EXPECT_EQ(ExpandEnv("${B:-dflt}", env).value, "dflt");
    EXPECT_EQ(ExpandEnv("${A:-dflt}", env).value, "1");
    EXPECT_EQ(ExpandEnv("${EMPTY:-dflt}", env).value, "dflt");  // :- also covers empty, as in sh
    EXPECT_EQ(ExpandEnv("${B:-}", env).value, "");
    EXPECT_EQ(ExpandEnv("no vars $ here", env).value, "no vars $ here");
    EXPECT_EQ(ExpandEnv("$${A}", env).value, "${A}");
}

TEST(EnvExpand, UnsetWithoutDefaultIsReported) {
    auto r = ExpandEnv("k=${MISSING}", Fake({}));
    EXPECT_EQ(r.value, "k=");
    ASSERT_EQ(r.unset.size(), 1u);
    EXPECT_EQ(r.unset[0], "MISSING");
}

TEST(EnvExpand, Malformed) {
    EXPECT_FALSE(ExpandEnv("${OPEN", Fake({})).error.empty());
    EXPECT_FALSE(ExpandEnv("${}", Fake({})).error.empty());
}
