#include "pipeline/openapi.hpp"

#include <boost/json.hpp>

namespace llmproxy::pipeline {
namespace {

namespace json = boost::json;

// "/v1/models/{model*}" -> "/v1/models/{model}"; a prefix row "/v1/" -> "/v1/{path}".
std::string DocumentedPath(const EndpointSpec& row) {
    std::string path(row.path);
    if (row.match == Match::kPrefix) return path + "{path}";
    for (auto star = path.find("*}"); star != std::string::npos; star = path.find("*}")) path.erase(star, 1);
    return path;
}

std::vector<std::string> PathParameters(const std::string& path) {
    std::vector<std::string> names;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
        names.push_back(path.substr(open + 1, path.find('}', open) - open - 1));
    }
    return names;
}

const char* Tag(const EndpointSpec& row) {
    switch (row.endpoint) {
        case Endpoint::kAdmin:
            return "Admin";
        case Endpoint::kHealth:
        case Endpoint::kHealthDetailed:
        case Endpoint::kMetrics:
        case Endpoint::kDocs:
            return "Operations";
        case Endpoint::kTokenize:
            return "llm-proxy extensions";
        case Endpoint::kMessages:
        case Endpoint::kCountTokens:
            return "Anthropic-compatible";
        default:
            return "OpenAI-compatible";
    }
}

json::object Operation(const EndpointSpec& row, const std::string& path, std::string_view method) {
    json::object op;
    op["summary"] = row.summary;
    op["tags"] = json::array{Tag(row)};
    op["operationId"] = std::string(method) + path;
    json::array params;
    for (const auto& name : PathParameters(path)) {
        params.push_back(json::object{
            {"name", name}, {"in", "path"}, {"required", true}, {"schema", json::object{{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (row.access == Access::kKey) op["security"] = json::array{json::object{{"ApiKey", json::array{}}}};
    if (row.access == Access::kAdmin) op["security"] = json::array{json::object{{"AdminKey", json::array{}}}};
    if (method == "post" || method == "put" || method == "patch") {
        op["requestBody"] = json::object{
            {"required", row.handler == nullptr || row.needs_body || row.access == Access::kAdmin},
            {"content",
             json::object{{"application/json", json::object{{"schema", json::object{{"type", "object"}}}}}}}};
    }
    json::object responses;
    responses["200"] = json::object{{"description", "Success"}};
    responses["default"] = json::object{
        {"description", "Error (OpenAI shape: error.message, type, code, param)"},
        {"content", json::object{{"application/json",
                                  json::object{{"schema", json::object{{"$ref", "#/components/schemas/Error"}}}}}}}};
    op["responses"] = std::move(responses);
    return op;
}

json::object Components() {
    json::object error_fields{{"message", json::object{{"type", "string"}}},
                              {"type", json::object{{"type", "string"}}},
                              {"code", json::object{{"type", json::array{"string", "null"}}}},
                              {"param", json::object{{"type", json::array{"string", "null"}}}}};
    json::object error{
        {"type", "object"},
        {"properties",
         json::object{{"error", json::object{{"type", "object"}, {"properties", std::move(error_fields)}}}}}};
    return json::object{{"schemas", json::object{{"Error", std::move(error)}}},
                        {"securitySchemes",
                         json::object{{"ApiKey", json::object{{"type", "http"},
                                                              {"scheme", "bearer"},
                                                              {"description", "An API key (auth.keys or the store)"}}},
                                      {"AdminKey", json::object{{"type", "http"},
                                                                {"scheme", "bearer"},
                                                                {"description", "server.admin_key (or ADMIN_KEY)"}}}}}};
}

}  // namespace

std::string BuildOpenApi(const EndpointTable& table, std::string_view version) {
    static constexpr std::pair<std::uint8_t, const char*> kMethods[] = {
        {kGet, "get"}, {kPost, "post"}, {kPut, "put"}, {kPatch, "patch"}, {kDelete, "delete"}};
    json::object paths;
    for (const EndpointSpec* row : table.Rows()) {
        const std::string path = DocumentedPath(*row);
        json::value& slot = paths[path];
        if (!slot.is_object()) slot.emplace_object();
        json::object& item = slot.as_object();
        for (const auto& [bit, name] : kMethods) {
            if ((row->accepts & bit) && !item.contains(name)) item[name] = Operation(*row, path, name);
        }
    }
    json::object doc{
        {"openapi", "3.1.0"},
        {"info", json::object{{"title", "llm-proxy"},
                              {"version", version},
                              {"description",
                               "OpenAI-compatible LLM gateway: the proxied OpenAI endpoints, llm-proxy's extensions, "
                               "operations endpoints and the admin API."}}},
        {"paths", std::move(paths)},
        {"components", Components()}};
    return json::serialize(doc);
}

}  // namespace llmproxy::pipeline
