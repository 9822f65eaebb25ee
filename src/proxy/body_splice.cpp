#include "proxy/body_splice.hpp"

#include "core/json_escape.hpp"
#include "core/string_pool.hpp"

namespace llmproxy::proxy {

std::string SpliceModel(std::string_view body, const BodyInfo& info, std::string_view model) {
    std::string out;
    out.reserve(body.size() + model.size() + 16);
    if (info.has_model) {
        out.append(body.substr(0, info.model_begin));
        core::AppendJsonString(out, model);
        out.append(body.substr(info.model_end));
        return out;
    }
    // Insert right after the opening brace; add a comma only when the object has members.
    auto brace = body.find('{');
    out.append(body.substr(0, brace + 1));
    out += "\"model\":";
    core::AppendJsonString(out, model);
    auto rest = body.substr(brace + 1);
    auto first = rest.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && rest[first] != '}') out += ',';
    out.append(rest);
    return out;
}

std::string InjectIncludeUsage(std::string_view body) {
    static constexpr std::string_view kMember = R"("stream_options":{"include_usage":true},)";
    auto brace = body.find('{');
    std::string out = core::TakeString(body.size() + kMember.size());  // given back by PreparedRequest
    out.append(body.substr(0, brace + 1));
    out.append(kMember);
    out.append(body.substr(brace + 1));
    return out;  // the body has at least "stream": true, so the trailing comma is followed by a member
}

}  // namespace llmproxy::proxy
