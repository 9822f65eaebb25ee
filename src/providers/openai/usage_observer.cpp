#include "providers/openai/usage_observer.hpp"

#include "core/find.hpp"
#include "http/sse_framer.hpp"

namespace llmproxy::providers::openai {
namespace {

// Appends `event` without its `"usage":null` member (present in every chunk once include_usage
// is set). Inside JSON strings quotes are escaped, so the pattern can only be a real member.
void AppendWithoutNullUsage(std::string& out, std::string_view event) {
    for (;;) {
        std::size_t at = core::Find(event, "\"usage\":null");
        std::size_t len = 12;
        if (at == std::string_view::npos) {
            at = core::Find(event, "\"usage\": null");
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

// Where the next event that may carry usage starts looking: the next "usage" (or Ollama's
// "eval_count") at or after `from`.
std::size_t NextMention(std::string_view block, std::size_t from) {
    return std::min(core::Find(block, "usage", from), core::Find(block, "eval_count", from));
}

// Every mention of usage in `event` is a `"usage":null` member (what include_usage adds to each
// chunk): there is nothing to read, and no parse is spent on it.
bool OnlyNullUsage(std::string_view event) {
    if (core::Contains(event, "eval_count")) return false;
    for (std::size_t at = core::Find(event, "usage"); at != std::string_view::npos;
         at = core::Find(event, "usage", at + 5)) {
        const std::string_view after = event.substr(at + 5);
        if (at == 0 || event[at - 1] != '"' || !(after.starts_with("\":null") || after.starts_with("\": null")))
            return false;
    }
    return true;
}

}  // namespace

std::string_view UsageObserver::OnEvents(std::string_view block) {
    std::size_t mention = NextMention(block, 0);
    if (mention == std::string_view::npos) return block;  // the common case: plain content chunks
    // Only the events that mention usage are parsed; the others pass as they are. The block is
    // copied (into filtered_) only from the first event that changes.
    bool changed = false;
    std::size_t copied_up_to = 0;  // bytes of `block` already in filtered_ (or skipped)
    auto change = [&](std::size_t event_begin) {
        if (!changed) filtered_.clear();
        filtered_.append(block.substr(copied_up_to, event_begin - copied_up_to));
        changed = true;
    };
    sse::ForEachEvent(block, [&](std::string_view event) {
        const auto begin = static_cast<std::size_t>(event.data() - block.data());
        if (mention >= begin + event.size()) return;  // no mention in this event
        mention = NextMention(block, begin + event.size());
        if (OnlyNullUsage(event)) {
            if (strip_) {
                change(begin);
                AppendWithoutNullUsage(filtered_, event);
                copied_up_to = begin + event.size();
            }
            return;
        }
        const std::string_view data = usage::SseDataView(event, scratch_);
        auto report = usage::ParseUsageReport(data);
        if (report) Merge(*report);
        if (!strip_) return;
        if (report && usage::IsUsageOnlyChunk(data)) {  // the chunk only we asked for: drop it
            change(begin);
            copied_up_to = begin + event.size();
            return;
        }
        if (core::Contains(event, "\"usage\":null") || core::Contains(event, "\"usage\": null")) {
            change(begin);
            AppendWithoutNullUsage(filtered_, event);
            copied_up_to = begin + event.size();
        }
    });
    if (!changed) return block;
    filtered_.append(block.substr(copied_up_to));
    return filtered_;
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

void UsageObserver::Merge(const usage::UsageReport& report) {
    if (!usage_) usage_.emplace();
    usage_->Merge(report);
}

}  // namespace llmproxy::providers::openai
