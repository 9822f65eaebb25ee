#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

// TPM admission charges the prompt's tokens (plus max_tokens), estimated from the body's size:
// bytes/4. The real usage replaces the estimate when the request ends, so the estimate only
// has to be of the right size; a tokenizer pass (a JSON parse, a DOM and BPE: ~1-3 µs and ~7
// allocations per request) bought precision the correction makes moot. English prose is close
// to 4 bytes per token (JSON framing makes the estimate a little high, which errs on the safe
// side); CJK text runs nearer 2-3 bytes per token, so its estimate is low until corrected.
double EstimatePromptTokens(const std::string& body) {
    return static_cast<double>(body.size()) / 4.0;
}

}  // namespace

bool LimitsStage::Run(RequestContext& ctx, Runtime& rt, std::int64_t now_ns, std::int64_t now_s) {
    const auto& routed = ctx.routed;
    ctx.estimated_tokens =
        EstimatePromptTokens(ctx.request().body()) + static_cast<double>(routed.body.max_tokens.value_or(0));
    ctx.admission = ctx.snap().limiter->Admit(ctx.key ? ctx.key->counters.get() : nullptr, ctx.estimated_tokens, now_ns,
                                              now_s, rt.redis != nullptr);
    if (!ctx.admission.denied()) return true;
    rt.metrics->CountRateLimited(static_cast<std::size_t>(ctx.admission.reason));
    ctx.Refuse(*ctx.admission.reply, ctx.admission.headers);
    return false;
}

}  // namespace llmproxy::stages
