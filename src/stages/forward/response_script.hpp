#pragma once
// scripts.response_transform as a response observer: a non-stream JSON answer is read whole
// (up to server.max_translated_body) and the script's {status_code, body} replaces it. It runs
// after the attempt's own observers, so it sees the body in the client's dialect. Streams pass
// untouched (on_chunk is their point). The script's headers are not applied yet.
#include "providers/response_observer.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

class ResponseScriptObserver : public providers::ResponseObserver {
public:
    explicit ResponseScriptObserver(RequestContext& ctx) : ctx_(ctx) {}
    void OnHead(providers::ResponseHead& head) override;
    std::string_view OnWholeBody(std::string_view body) override;

private:
    RequestContext& ctx_;
    // The relay's head: the status it writes after the whole body is read (a script may change it).
    providers::ResponseHead* head_ = nullptr;
    std::string replaced_;
};

}  // namespace llmproxy::stages
