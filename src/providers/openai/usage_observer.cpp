#include "providers/openai/usage_observer.hpp"

#include "http/sse_framer.hpp"

namespace llmproxy::providers::openai {
namespace {

// Appends `event` without its `"usage":null` member (present in every chunk once include_usage
// is set). Inside JSON strings quotes are escaped, so the pattern can only be a real member.
void AppendWithoutNullUsage(std::string& out, std::string_view event) {
    for (;;) {
        std::size_t at = event.find("\"usage\":null");
        std::size_t len = 12;
        if (at == std::string_view::npos) {
            at = event.find("\"usage\": null");
            len = 13;
        }
        if (at == std::string_view::npos) break;
        std::size_t begin = at, end = at + len;
        if (begin > 0 && event[begin - 1] == ',')
            --begin;  // ...,"usage":null}
        else if (end < event.size() && event[end] == ',')
            ++end;  // {"usage":null,...
        out.append(event.substr(0, begin));
        event.remove_prefix(end);
    }
    out.append(event);
}

}  // namespace

std::string_view UsageObserver::OnEvents(std::string_view block) {
    if (block.find("usage") == std::string_view::npos && block.find("eval_count") == std::string_view::npos) {
        return block;  // the common case: plain content chunks
    }
    bool changed = false;
    filtered_.clear();
    sse::ForEachEvent(block, [&](std::string_view event) {
        const std::string data = usage::SseData(event);
        auto u = usage::ParseUsage(data);
        if (u) usage_ = u;
        if (!strip_) return;
        // Only a chunk with a usage object can be the usage-only chunk: no second parse of the
        // ordinary "usage":null chunks.
        if (u && usage::IsUsageOnlyChunk(data)) {
            changed = true;
            return;
        }
        const std::size_t before = filtered_.size();
        AppendWithoutNullUsage(filtered_, event);
        changed = changed || filtered_.size() - before != event.size();
    });
    return changed ? std::string_view(filtered_) : block;
}

void UsageObserver::OnBody(std::string_view piece) {
    if (!head_.json || body_overflow_) return;
    if (body_.size() + piece.size() > kMaxBody) {
        body_overflow_ = true;
        body_.clear();
        body_.shrink_to_fit();
        return;
    }
    body_.append(piece);
}

void UsageObserver::OnEnd(bool complete) {
    if (complete && !body_.empty()) usage_ = usage::ParseUsage(body_);
}

}  // namespace llmproxy::providers::openai
