#include "providers/response_chain.hpp"

namespace llmproxy::providers {

void ResponseChain::OnHead(ResponseHead& head) const {
    ForEach([&](ResponseObserver& o) { o.OnHead(head); });
}

std::string_view ResponseChain::OnEvents(std::string_view events) const {
    ForEach([&](ResponseObserver& o) {
        if (!events.empty()) events = o.OnEvents(events);
    });
    return events;
}

std::string_view ResponseChain::OnLastEvents(std::string_view events) const {
    ForEach([&](ResponseObserver& o) { events = o.OnLastEvents(events); });
    return events;
}

std::string_view ResponseChain::OnCut(const core::LocalReply& error, std::string_view event) const {
    ForEach([&](ResponseObserver& o) { event = o.OnCut(error, event); });
    return event;
}

void ResponseChain::OnBody(std::string_view piece) const {
    ForEach([&](ResponseObserver& o) { o.OnBody(piece); });
}

std::string_view ResponseChain::OnWholeBody(std::string_view body) const {
    ForEach([&](ResponseObserver& o) { body = o.OnWholeBody(body); });
    return body;
}

void ResponseChain::OnEnd(bool complete) const {
    ForEach([&](ResponseObserver& o) { o.OnEnd(complete); });
}

void ResponseChain::ShowEvents(std::string_view events) const {
    ForEach([&](ResponseObserver& o) { o.OnEvents(events); });
}

}  // namespace llmproxy::providers
