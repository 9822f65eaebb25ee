#include "stages/auth_pipeline.hpp"

#include "core/secret_hash.hpp"
#include "stages/script_view.hpp"

namespace llmproxy::stages {
namespace {

core::LocalReply Refused(std::string message) {
    return {401, "invalid_request_error", "invalid_api_key", std::move(message), {}, {}};
}

// A lua step's verdict on the presented key (with the key store's record when it had one).
bool LuaStepAllows(RequestContext& ctx, std::size_t step, std::string_view presented, const proxy::KeyEntry* found) {
    script::ScriptSet* scripts = ctx.scripts();
    const script::RequestView request = ViewOf(ctx);
    script::KeyInfo info;
    if (found) {
        info.name = found->config.name;
        info.user_id = found->config.user_id;
        info.status = found->config.active ? "active" : "disabled";
    }
    const script::AuthStepInput input{presented, &request, found ? &info : nullptr,
                                      found ? &found->config.metadata : nullptr};
    const auto answer = scripts ? scripts->AuthStep(step, input) : script::Answer<script::AuthStepVerdict>{};
    if (answer.value && answer.value->allow && !answer.failure) return true;
    const std::string& name = ctx.config().auth.pipeline[step].name;
    std::string message = answer.value && !answer.value->message.empty()
                              ? answer.value->message
                              : "The API key was refused by auth step '" + (name.empty() ? "lua" : name) + "'.";
    ctx.Refuse(Refused(std::move(message)));
    return false;
}

}  // namespace

bool RunAuthPipeline(RequestContext& ctx, const proxy::Credentials& creds, const core::IpAddress& client,
                     std::int64_t now_s) {
    const auto& auth = ctx.config().auth;
    const std::string_view presented = proxy::PresentedKey(creds);
    bool decided = false;
    for (std::size_t i = 0; i < auth.pipeline.size(); ++i) {
        if (auth.pipeline[i].lua) {
            if (!LuaStepAllows(ctx, i, presented, ctx.key)) return false;
        } else {
            proxy::AuthResult found = proxy::Authenticate(*ctx.keys, creds, client, now_s);
            const bool unknown = found.error && found.error->code == "invalid_api_key";
            if (unknown && !auth.pipeline_all) continue;  // first_match: the next step may know it
            if (found.error) {
                ctx.Refuse(std::move(*found.error));
                return false;
            }
            ctx.key = found.key;
        }
        decided = true;
        if (!auth.pipeline_all) return true;
    }
    if (!decided) ctx.Refuse(Refused("Incorrect API key provided: " + core::MaskKey(presented) + "."));
    return decided;
}

}  // namespace llmproxy::stages
