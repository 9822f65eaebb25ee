// The endpoint table with the admin API's rows, and the OpenAPI document generated from it.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "admin/admin_api.hpp"
#include "pipeline/control_channel.hpp"
#include "pipeline/endpoints.hpp"
#include "pipeline/openapi.hpp"

namespace llmproxy::pipeline {
namespace {

std::string DocumentedPath(const EndpointSpec& row) {
    std::string path(row.path);
    if (row.match == Match::kPrefix) return path + "{path}";
    if (auto star = path.find("*}"); star != std::string::npos) path.erase(star, 1);
    return path;
}

TEST(EndpointTable, EveryRowIsInTheOpenApiDocument) {
    EndpointTable table;
    table.Add(admin::AdminEndpoints());
    auto doc = boost::json::parse(BuildOpenApi(table, "test")).as_object();
    const auto& paths = doc.at("paths").as_object();
    std::size_t operations = 0;
    for (const EndpointSpec* row : table.Rows()) {
        const std::string path = DocumentedPath(*row);
        ASSERT_TRUE(paths.contains(path)) << path;
        const auto& item = paths.at(path).as_object();
        for (auto [bit, name] :
             {std::pair{kGet, "get"}, {kPost, "post"}, {kPut, "put"}, {kPatch, "patch"}, {kDelete, "delete"}}) {
            if (row->accepts & bit) {
                EXPECT_TRUE(item.contains(name)) << name << " " << path;
                ++operations;
            }
        }
        EXPECT_FALSE(row->summary.empty()) << path;
    }
    EXPECT_GT(operations, 45u);
    // Every admin row needs the admin key and is answered on the control thread.
    for (const EndpointSpec& row : admin::AdminEndpoints()) {
        EXPECT_EQ(row.access, Access::kAdmin) << row.path;
        EXPECT_EQ(row.handler, &AnswerOnControlThread) << row.path;
    }
    // Admin operations say they need the admin key; path parameters are declared.
    const auto& put = paths.at("/admin/v1/providers/{id}").at("put").as_object();
    EXPECT_EQ(put.at("security").as_array()[0].as_object().begin()->key(), "AdminKey");
    EXPECT_EQ(put.at("parameters").as_array()[0].at("name").as_string(), "id");
}

TEST(EndpointTable, MethodsPatternsAndTheCatchAll) {
    EndpointTable table;
    table.Add(admin::AdminEndpoints());
    // A path's rows are siblings: a method none takes is 405 with every method they take, and
    // never falls through to the /v1/ catch-all.
    auto m = table.Lookup("/admin/v1/providers/7", http::verb::post);
    EXPECT_EQ(m.allow, "GET, PUT, PATCH, DELETE");
    m = table.Lookup("/v1/chat/completions", http::verb::get);
    EXPECT_EQ(m.row->endpoint, Endpoint::kChat);
    EXPECT_EQ(m.allow, "POST");
    m = table.Lookup("/admin/v1/providers/openai-main", http::verb::put);
    EXPECT_TRUE(m.allow.empty());
    EXPECT_EQ(m.param, "openai-main");
    m = table.Lookup("/admin/v1/providers/3/disable", http::verb::post);
    EXPECT_EQ(m.param, "3");
    EXPECT_EQ(m.row->summary, "Disable a provider");
    // {model*} takes slashes; {id} does not.
    m = table.Lookup("/admin/v1/routes/meta-llama/Llama-3", http::verb::get);
    EXPECT_EQ(m.param, "meta-llama/Llama-3");
    m = table.Lookup("/v1/models/org/model", http::verb::get);
    EXPECT_EQ(m.row->endpoint, Endpoint::kModel);
    EXPECT_EQ(m.param, "org/model");
    m = table.Lookup("/admin/v1/providers/a/b", http::verb::get);
    EXPECT_EQ(m.row->endpoint, Endpoint::kUnknown);
    m = table.Lookup("/admin/v1/providers/", http::verb::get);
    EXPECT_EQ(m.row->endpoint, Endpoint::kUnknown);  // an empty segment is no id
    // Unknown /v1/ paths still pass through; the built-in table has no admin rows.
    EXPECT_EQ(table.Lookup("/v1/files/f1", http::verb::delete_).row->endpoint, Endpoint::kOtherV1);
    EXPECT_EQ(BuiltinEndpoints().Lookup("/admin/v1/providers", http::verb::get).row->endpoint, Endpoint::kUnknown);
}

}  // namespace
}  // namespace llmproxy::pipeline
