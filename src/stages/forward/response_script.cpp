#include "stages/forward/response_script.hpp"

#include "stages/script_view.hpp"

namespace llmproxy::stages {

void ResponseScriptObserver::OnHead(providers::ResponseHead& head) {
    head_ = nullptr;
    chunks_ = 0;
    const script::ScriptSet& scripts = *ctx_.scripts();
    relayed_error_ = head.status >= 400 && !head.sse &&
                     (scripts.Has(script::Point::kErrorHandler) || scripts.Has(script::Point::kOnError));
    if (!relayed_error_ && (head.sse || !head.json || !scripts.Has(script::Point::kResponseTransform))) return;
    head.whole_body = true;
    head_ = &head;
}

std::string_view ResponseScriptObserver::OnWholeBody(std::string_view body) {
    script::ScriptSet* scripts = ctx_.scripts();
    if (!head_ || !scripts) return body;
    if (relayed_error_) return HandleRelayedError(body);
    const script::RequestView request = ViewOf(ctx_);
    script::ResponseView response;
    response.status_code = head_->status;
    response.latency_ms = std::chrono::duration<double, std::milli>(pipeline::Clock::now() - ctx_.started).count();
    const auto& providers = ctx_.config().providers;
    if (ctx_.record.provider_index < providers.size())
        response.backend_url = providers[ctx_.record.provider_index].base_url;
    response.body = body;
    auto answer = scripts->ResponseTransform(request, response);
    if (answer.failure && !answer.failure->fail_open) {
        // Fails closed: the client gets the gateway's script_error instead of the unreviewed body.
        head_->status = 500;
        replaced_ = core::ErrorBody(
            core::LocalReply{
                500, "server_error", "script_error", "A gateway script failed while handling this response.", {}, {}},
            ctx_.request_id, ctx_.dialect);
        return replaced_;
    }
    if (!answer.value) return body;
    if (answer.value->status_code) head_->status = answer.value->status_code;
    if (!answer.value->body) return body;
    replaced_ = std::move(*answer.value->body);
    return replaced_;
}

std::string_view ResponseScriptObserver::HandleRelayedError(std::string_view body) {
    core::LocalReply reply;
    reply.status = static_cast<int>(head_->status);
    reply.message = ErrorMessageOf(body);
    auto replacement = RunErrorScripts(ctx_, reply);
    head_->status = static_cast<unsigned>(reply.status);
    if (!replacement) return body;
    replaced_ = std::move(*replacement);
    return replaced_;
}

std::string_view ResponseScriptObserver::OnCut(const core::LocalReply& error, std::string_view event) {
    core::LocalReply reply = error;
    auto replacement = RunErrorScripts(ctx_, reply);
    // Chat clients get the handler's body as the last event; other dialects keep their ending.
    if (!replacement || ctx_.dialect != core::Dialect::kOpenAIChat) return event;
    replaced_ = "data: " + *replacement + "\n\n";
    return replaced_;
}

std::string_view ResponseScriptObserver::OnEvents(std::string_view events) {
    script::ScriptSet* scripts = ctx_.scripts();
    if (!scripts || !scripts->Has(script::Point::kOnChunk)) return events;
    auto answer = scripts->OnChunk(ViewOf(ctx_), events, chunks_++);
    // A failing on_chunk cannot refuse a stream already under way: the block goes as it came.
    if (!rewrite_chunks_ || !answer.value) return events;
    replaced_ = std::move(*answer.value);
    return replaced_;
}

}  // namespace llmproxy::stages
