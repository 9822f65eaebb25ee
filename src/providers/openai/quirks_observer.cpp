#include "providers/openai/quirks_observer.hpp"

#include <boost/json.hpp>

#include "core/find.hpp"
#include "http/sse_framer.hpp"
#include "providers/translate/bodies.hpp"

namespace llmproxy::providers::openai {
namespace {

namespace json = boost::json;

bool OpenAIShaped(std::string_view body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return false;
    const json::value* error = v.get_object().if_contains("error");
    return error && error->is_object() && error->get_object().contains("message");
}

}  // namespace

void QuirksObserver::OnHead(ResponseHead& head) {
    status_ = head.status;
    if (normalize_errors_ && status_ >= 400 && !head.sse) {
        head.whole_body = true;
        head.content_type = "application/json";
    }
}

std::string_view QuirksObserver::OnWholeBody(std::string_view body) {
    if (!normalize_errors_ || status_ < 400 || OpenAIShaped(body)) return body;
    out_ = translate::ErrorToOpenAI(body, status_);
    return out_;
}

std::string_view QuirksObserver::OnEvents(std::string_view events) {
    if (!fix_index_ || core::Find(events, "tool_calls") == std::string_view::npos) return events;
    out_.clear();
    sse::ForEachEvent(events, [&](std::string_view event) { FixEvent(event); });
    return out_;
}

// An event whose tool-call deltas lack `index` is re-serialized with one: a new id is a new
// call, a delta without id continues the last one.
void QuirksObserver::FixEvent(std::string_view event) {
    const std::string_view data = sse::EventData(event, joined_);
    boost::system::error_code ec;
    json::value v = data.find("tool_calls") == std::string_view::npos ? json::value() : json::parse(data, ec);
    json::array* calls = nullptr;
    if (!ec && v.is_object()) {
        if (json::value* choices = v.get_object().if_contains("choices"); choices && choices->is_array()) {
            for (auto& choice : choices->get_array()) {
                json::value* delta = choice.is_object() ? choice.get_object().if_contains("delta") : nullptr;
                json::value* tc = delta && delta->is_object() ? delta->get_object().if_contains("tool_calls") : nullptr;
                if (tc && tc->is_array()) calls = &tc->get_array();
                break;
            }
        }
    }
    bool fixed = false;
    json::array none;
    for (auto& call : calls ? *calls : none) {
        if (!call.is_object() || call.get_object().contains("index")) continue;
        const json::value* id = call.get_object().if_contains("id");
        const std::string id_text = id && id->is_string() ? std::string(id->get_string()) : std::string();
        if (call_ids_.empty() || (!id_text.empty() && id_text != call_ids_.back())) call_ids_.push_back(id_text);
        call.get_object()["index"] = call_ids_.size() - 1;
        fixed = true;
    }
    if (!fixed) {
        out_.append(event);
        return;
    }
    out_ += "data: ";
    out_ += json::serialize(v);
    out_ += "\n\n";
}

}  // namespace llmproxy::providers::openai
