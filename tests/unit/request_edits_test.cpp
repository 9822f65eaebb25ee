// Vendor request quirks (providers/openai/request_edits): fields dropped by path, renamed.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "providers/openai/request_edits.hpp"

using llmproxy::providers::openai::EditParams;
namespace json = boost::json;

TEST(RequestEdits, DropsByPathAndRenames) {
    const auto out = EditParams(
        R"({"model":"m","presence_penalty":1,"max_completion_tokens":9,"messages":[{"role":"user","content":"x","name":"a"},{"role":"user","content":"y"}],"tools":[{"type":"function","function":{"name":"f","strict":true}}]})",
        {"presence_penalty", "messages[].name", "tools[].function.strict", "absent.path"},
        {{"max_completion_tokens", "max_tokens"}});
    ASSERT_TRUE(out);
    const json::object o = json::parse(*out).as_object();
    EXPECT_FALSE(o.contains("presence_penalty"));
    EXPECT_FALSE(o.contains("max_completion_tokens"));
    EXPECT_EQ(o.at("max_tokens"), 9);
    EXPECT_FALSE(o.at("messages").as_array()[0].as_object().contains("name"));
    EXPECT_FALSE(o.at("tools").as_array()[0].at("function").as_object().contains("strict"));
    EXPECT_EQ(o.at("tools").as_array()[0].at("function").at("name"), "f");
}

TEST(RequestEdits, NothingToEditKeepsTheBytes) {
    EXPECT_FALSE(EditParams(R"({"model":"m"})", {"presence_penalty"}, {{"max_completion_tokens", "max_tokens"}}));
    EXPECT_FALSE(EditParams("not json", {"a"}, {}));
    // A rename never overwrites the field it would become.
    EXPECT_FALSE(
        EditParams(R"({"max_completion_tokens":1,"max_tokens":2})", {}, {{"max_completion_tokens", "max_tokens"}}));
}
