#pragma once
// scripts.response_transform as a response observer: a non-stream JSON answer is read whole
// (up to server.max_translated_body) and the script's {status_code, body} replaces it. It runs
// after the attempt's own observers, so it sees the body in the client's dialect. The script's
// headers are not applied yet. scripts.on_chunk sees each block of whole SSE events of a stream;
// only with `rewrite: true` does a string it returns replace the block (a copy per block).
// Upstream errors relayed to the client take the error path too: hooks.on_error sees them and
// scripts.error_handler may replace a relayed error answer, or the in-band error event that
// ends a cut stream (chat clients).
#include "providers/response_observer.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

class ResponseScriptObserver : public providers::ResponseObserver {
public:
    ResponseScriptObserver(RequestContext& ctx, bool rewrite_chunks) : ctx_(ctx), rewrite_chunks_(rewrite_chunks) {}
    void OnHead(providers::ResponseHead& head) override;
    std::string_view OnWholeBody(std::string_view body) override;
    std::string_view OnEvents(std::string_view events) override;
    std::string_view OnCut(const core::LocalReply& error, std::string_view event) override;

private:
    RequestContext& ctx_;
    // The relay's head: the status it writes after the whole body is read (a script may change it).
    providers::ResponseHead* head_ = nullptr;
    std::string_view HandleRelayedError(std::string_view body);
    std::string replaced_;
    bool relayed_error_ = false;
    bool rewrite_chunks_;
    std::int64_t chunks_ = 0;
};

}  // namespace llmproxy::stages
