#include "stages/stages.hpp"
#include "usage/local_count.hpp"

namespace llmproxy::stages {
namespace {

// TPM admission charges the prompt's tokens (plus max_tokens). Counting them with the model's
// tokenizer costs a parse and a BPE pass (~1 µs for a repeated ~300-byte prompt, ~3 µs for a
// new one), so only keys with a TPM limit pay it, and not for bodies over 256 KiB (milliseconds
// of work for an estimate the real usage corrects anyway); everyone else gets bytes/4.
double EstimatePromptTokens(const std::string& body, const proxy::KeyEntry* key, std::string_view model,
                            const usage::Tokenizers* tokenizers) {
    const double rough = static_cast<double>(body.size()) / 4.0;
    if (!key || key->config.limits.tokens_per_minute <= 0 || !tokenizers) return rough;
    if (body.size() > (256u << 10)) return rough;
    const usage::Tokenizer* t = tokenizers->ForModel(model);
    if (!t) return rough;
    const std::int64_t n = usage::CountPromptTokens(*t, body);
    return n < 0 ? rough : static_cast<double>(n);
}

}  // namespace

bool LimitsStage::Run(RequestContext& ctx, Runtime& rt, std::int64_t now_ns, std::int64_t now_s) {
    const auto& routed = ctx.routed;
    ctx.estimated_tokens = EstimatePromptTokens(ctx.request().body(), ctx.key, routed.public_model, rt.tokenizers) +
                           static_cast<double>(routed.body.max_tokens.value_or(0));
    ctx.admission = ctx.snap().limiter->Admit(ctx.key ? ctx.key->counters.get() : nullptr, ctx.estimated_tokens, now_ns,
                                              now_s, rt.redis != nullptr);
    if (!ctx.admission.denied()) return true;
    rt.metrics->CountRateLimited(static_cast<std::size_t>(ctx.admission.reason));
    ctx.Refuse(*ctx.admission.reply, ctx.admission.headers);
    return false;
}

}  // namespace llmproxy::stages
