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

// A redis step's verdict on what StoredKeyStage read. kUnknown: the step does not know the key.
enum class StepVerdict { kAllowed, kRefused, kUnknown, kStoreDown };

StepVerdict RedisStep(RequestContext& ctx, const core::IpAddress& client, std::int64_t now_s) {
    const pipeline::StoredKeyLookup& found = ctx.stored_key;
    if (found.state == pipeline::StoredKeyLookup::State::kStoreDown) return StepVerdict::kStoreDown;
    if (found.state != pipeline::StoredKeyLookup::State::kFound) return StepVerdict::kUnknown;
    if (auto refused = proxy::CheckKey(*found.key, client, now_s)) {
        ctx.Refuse(std::move(*refused));
        return StepVerdict::kRefused;
    }
    if (found.quota_exhausted) {
        ctx.Refuse({429,
                    "insufficient_quota",
                    "insufficient_quota",
                    "The API key '" + found.key->config.name + "' has no quota left.",
                    {},
                    {}});
        return StepVerdict::kRefused;
    }
    ctx.key = found.key.get();
    return StepVerdict::kAllowed;
}

StepVerdict BuiltinStep(RequestContext& ctx, const proxy::Credentials& creds, const core::IpAddress& client,
                        std::int64_t now_s) {
    proxy::AuthResult found = proxy::Authenticate(*ctx.keys, creds, client, now_s);
    const bool unknown = found.error && found.error->code == "invalid_api_key";
    if (unknown && !ctx.config().auth.pipeline_all) return StepVerdict::kUnknown;  // the next step may know it
    if (found.error) {
        ctx.Refuse(std::move(*found.error));
        return StepVerdict::kRefused;
    }
    ctx.key = found.key;
    return StepVerdict::kAllowed;
}

}  // namespace

bool RunAuthPipeline(RequestContext& ctx, const proxy::Credentials& creds, const core::IpAddress& client,
                     std::int64_t now_s) {
    const auto& auth = ctx.config().auth;
    const std::string_view presented = proxy::PresentedKey(creds);
    bool decided = false, store_down = false;
    for (std::size_t i = 0; i < auth.pipeline.size(); ++i) {
        StepVerdict verdict = StepVerdict::kAllowed;
        if (auth.pipeline[i].lua()) {
            if (!LuaStepAllows(ctx, i, presented, ctx.key)) return false;
        } else {
            verdict = auth.pipeline[i].redis() ? RedisStep(ctx, client, now_s) : BuiltinStep(ctx, creds, client, now_s);
        }
        if (verdict == StepVerdict::kRefused) return false;
        if (verdict == StepVerdict::kAllowed) {
            decided = true;
            if (!auth.pipeline_all) return true;
            continue;
        }
        store_down = store_down || verdict == StepVerdict::kStoreDown;
        if (auth.pipeline_all) {  // every step must allow: one that does not know the key refuses it
            decided = false;
            break;
        }
    }
    if (decided) return true;
    if (store_down) {
        // Where the key would be is unreachable: say so (a retry may pass), not "wrong key".
        ctx.Refuse({503,
                    "api_error",
                    "key_store_unavailable",
                    "The API key could not be checked: the key store (Redis) is unreachable. Try again shortly.",
                    {},
                    {}},
                   "Retry-After: 1\r\n");
    } else {
        ctx.Refuse(proxy::UnknownKey(presented));
    }
    return false;
}

}  // namespace llmproxy::stages
