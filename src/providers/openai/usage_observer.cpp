#include "providers/openai/usage_observer.hpp"

#include "http/sse_framer.hpp"

namespace llmproxy::providers::openai {
namespace {

// Searches within one event are short: string_view::find (memchr for the 'u', then a compare)
// beats memmem there, whose per-call setup dominates on ~150 bytes, and 'u' is rarer in JSON
// than the '"' a pattern like "\"usage\"" would start with.

// The length of the `"usage":null` member whose word "usage" is at `at` (0: not one).
std::size_t NullUsageMember(std::string_view event, std::size_t at) {
    if (at == 0 || event[at - 1] != '"') return 0;
    const std::string_view after = event.substr(at + 5);
    if (after.starts_with("\":null")) return 12;
    if (after.starts_with("\": null")) return 13;
    return 0;
}

// Appends `event` without its `"usage":null` member (present in every chunk once include_usage
// is set). Inside JSON strings quotes are escaped, so the pattern can only be a real member.
// `first` is where the event's first "usage" is (known from the block's search).
void AppendWithoutNullUsage(std::string& out, std::string_view event, std::size_t first) {
    for (std::size_t at = first; at != std::string_view::npos; at = event.find("usage", at)) {
        const std::size_t len = NullUsageMember(event, at);
        if (len == 0) {
            at += 5;
            continue;
        }
        std::size_t begin = at - 1, end = begin + len;
        if (begin > 0 && event[begin - 1] == ',')
            --begin;  // ...,"usage":null}
        else if (end < event.size() && event[end] == ',')
            ++end;  // {"usage":null,...
        out.append(event.substr(0, begin));
        event.remove_prefix(end);
        at = 0;
    }
    out.append(event);
}

// Where the next event that may carry usage starts looking: the next "usage" (or Ollama's
// "eval_count") at or after a position. Each word's next place is remembered: searching both
// again from every event would scan the rest of the block once per event (quadratic in the
// events a read delivers; eval_count, absent from OpenAI streams, is always searched to the end).
class Mentions {
public:
    explicit Mentions(std::string_view block) : block_(block) {}
    std::size_t Next(std::size_t from) {
        return std::min(NextOf("usage", usage_, from), NextOf("eval_count", eval_count_, from));
    }
    /// Whether `at` (a result of Next) is a "usage".
    bool UsageAt(std::size_t at) const { return at == usage_; }
    /// Whether "eval_count" occurs in [from, to) (known from the search Next already made).
    bool EvalCountWithin(std::size_t from, std::size_t to) {
        const std::size_t at = NextOf("eval_count", eval_count_, from);
        return at != std::string_view::npos && at < to;
    }

private:
    std::size_t NextOf(std::string_view word, std::size_t& known, std::size_t from) {
        if (known == kUnknown || (known != std::string_view::npos && known < from)) {
            // Both by memchr on a byte that is rare in chunks, then a compare: memmem's setup
            // costs more than the search on blocks of a few hundred bytes (one event each, as
            // a stream arrives). "usage" is in every chunk once include_usage is set; the
            // "_" of Ollama's "eval_count" is in about one member a chunk (finish_reason).
            known = word == "eval_count" ? FindEvalCount(from) : block_.find(word, from);
        }
        return known;
    }
    std::size_t FindEvalCount(std::size_t from) const {
        constexpr std::string_view kWord = "eval_count";
        for (std::size_t at = block_.find('_', from + 4); at != std::string_view::npos; at = block_.find('_', at + 1)) {
            if (block_.compare(at - 4, kWord.size(), kWord) == 0) return at - 4;
        }
        return std::string_view::npos;
    }
    static constexpr std::size_t kUnknown = std::string_view::npos - 1;
    std::string_view block_;
    std::size_t usage_ = kUnknown, eval_count_ = kUnknown;
};

// Every mention of usage in `event` is a `"usage":null` member (what include_usage adds to each
// chunk): there is nothing to read, and no parse is spent on it. (Whether it holds Ollama's
// eval_count is asked of the block's Mentions: searching each event for it again cost more
// than the rest of the observer's work on it.)
bool OnlyNullUsage(std::string_view event, std::size_t first) {
    for (std::size_t at = first; at != std::string_view::npos; at = event.find("usage", at + 5)) {
        if (NullUsageMember(event, at) == 0) return false;
    }
    return true;
}

}  // namespace

std::string_view UsageObserver::OnEvents(std::string_view block) {
    Mentions mentions(block);
    std::size_t mention = mentions.Next(0);
    if (mention == std::string_view::npos) return block;  // the common case: plain content chunks
    // Only the events that mention usage are parsed; the others pass as they are. The block is
    // copied (into filtered_) only from the first event that changes.
    bool changed = false;
    std::size_t copied_up_to = 0;  // bytes of `block` already in filtered_ (or skipped)
    auto change = [&](std::size_t event_begin) {
        if (!changed) {
            filtered_.clear();
            core::Reserve(filtered_, block.size());
        }
        filtered_.append(block.substr(copied_up_to, event_begin - copied_up_to));
        changed = true;
    };
    sse::ForEachEvent(block, [&](std::string_view event) {
        const auto begin = static_cast<std::size_t>(event.data() - block.data());
        if (mention >= begin + event.size()) return;  // no mention in this event
        const bool eval_count = mentions.EvalCountWithin(begin, begin + event.size());
        // The event's first "usage", when the block's next mention is one (not eval_count).
        const std::size_t first = mentions.UsageAt(mention) ? mention - begin : event.find("usage");
        mention = mentions.Next(begin + event.size());
        if (!eval_count && OnlyNullUsage(event, first)) {
            if (strip_) {
                change(begin);
                AppendWithoutNullUsage(filtered_, event, first);
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
        if (event.find("\"usage\":null") != std::string_view::npos ||
            event.find("\"usage\": null") != std::string_view::npos) {
            change(begin);
            AppendWithoutNullUsage(filtered_, event, event.find("usage"));
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
    core::Reserve(body_, body_.size() + piece.size());
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
