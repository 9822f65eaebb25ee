#include "usage/stream_token_counter.hpp"

#include <cstring>

#include "core/find.hpp"
#include "core/string_pool.hpp"
#include "http/sse_framer.hpp"

namespace llmproxy::usage {
namespace {

void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

int Hex4(std::string_view s, std::size_t at) {
    if (at + 4 > s.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
        const char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

// Scans the JSON string whose opening quote is at s[i]; returns the index after its closing
// quote (s.size() if unterminated). With `out`, appends its unescaped value.
std::size_t ScanString(std::string_view s, std::size_t i, std::string* out) {
    ++i;
    while (i < s.size()) {
        // Jump to the next quote or backslash: plain runs are copied at once.
        std::size_t j = i;
        while (j < s.size() && s[j] != '"' && s[j] != '\\') ++j;  // short runs: a plain loop beats memchr
        if (out) out->append(s.data() + i, j - i);
        if (j >= s.size()) return s.size();
        if (s[j] == '"') return j + 1;
        // An escape.
        if (j + 1 >= s.size()) return s.size();
        const char e = s[j + 1];
        i = j + 2;
        if (!out) {
            if (e == 'u') i = std::min(s.size(), j + 6);
            continue;
        }
        switch (e) {
            case 'n':
                out->push_back('\n');
                break;
            case 't':
                out->push_back('\t');
                break;
            case 'r':
                out->push_back('\r');
                break;
            case 'b':
                out->push_back('\b');
                break;
            case 'f':
                out->push_back('\f');
                break;
            case 'u': {
                int cp = Hex4(s, j + 2);
                if (cp < 0) return s.size();
                i = j + 6;
                std::uint32_t code = static_cast<std::uint32_t>(cp);
                if (code >= 0xD800 && code < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
                    const int low = Hex4(s, i + 2);
                    if (low >= 0xDC00 && low < 0xE000) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (static_cast<std::uint32_t>(low) - 0xDC00);
                        i += 6;
                    }
                }
                AppendUtf8(*out, code);
                break;
            }
            default:
                out->push_back(e);  // \" \\ \/
        }
    }
    return s.size();
}

bool IsChatTextKey(std::string_view key) {
    return key == "content" || key == "reasoning_content" || key == "refusal" || key == "text" || key == "arguments" ||
           key == "name";
}

// Where a chunk's text may start. In chat and completions chunks nothing before "choices" is
// text (id, object, created, model, system_fingerprint: most of a chunk's bytes), so the scan
// starts at its key. The pattern can only be a key: in a string value its quotes would be
// escaped. Events that begin with their "type" (Responses API, Anthropic) are read whole: the
// type decides which members are text.
std::size_t TextStart(std::string_view s) {
    const std::size_t at = s.find("choices\":");
    if (at == std::string_view::npos || at == 0 || s[at - 1] != '"') return 0;
    const std::size_t first = s.find_first_not_of(" \t\r\n{");
    if (first != std::string_view::npos && s.substr(first).starts_with("\"type\"")) return 0;
    return at - 1;
}

}  // namespace

void AppendGeneratedText(std::string_view s, std::string& out) {
    // Responses API events carry the text twice (deltas, then *.done / response.completed with
    // the whole of it): only their `delta` strings count. Their "type" comes first, so it is
    // known before any text. Chat and completions chunks: the members above, wherever they are
    // (choices[].delta, choices[].text, tool_calls[].function).
    bool responses_api = false;
    std::string_view key;
    bool expect_value = false;
    for (std::size_t i = TextStart(s); i < s.size();) {
        const char c = s[i];
        if (c == '"') {
            const std::size_t start = i;
            if (expect_value) {
                expect_value = false;
                if (key == "type") {
                    i = ScanString(s, i, nullptr);
                    responses_api = responses_api || s.substr(start + 1).starts_with("response.");
                    continue;
                }
                const bool wanted = responses_api ? key == "delta" : IsChatTextKey(key);
                i = ScanString(s, i, wanted ? &out : nullptr);
                continue;
            }
            i = ScanString(s, i, nullptr);
            std::size_t k = i;
            while (k < s.size() && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r')) ++k;
            if (k < s.size() && s[k] == ':') {
                key = s.substr(start + 1, i - start - 2);
                expect_value = true;
                i = k + 1;
            }
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') expect_value = false;  // a non-string value
        ++i;
    }
}

void StreamTokenCounter::AddEvents(std::string_view events) {
    if (mode_ == Mode::kSampled && !Sampling()) {
        bytes_after_sample_ += events.size();  // the sample is taken: not even framed
        return;
    }
    sse::ForEachEvent(events, [&](std::string_view event) {
        if (mode_ == Mode::kSampled) {
            // The first events, contiguous: text cut into scattered pieces would tokenize into
            // more tokens per byte than the stream's (a third more on prose, measured).
            const bool read = Sampling();
            (read ? sample_event_bytes_ : bytes_after_sample_) += event.size();
            ++events_seen_;
            if (!read) return;
        }
        // Only the data lines matter; an event is "data: {...}" in practice (multi-line data
        // is joined by the JSON scanner reading across the line break as whitespace).
        std::size_t at = event.starts_with("data:") ? 0 : core::Find(event, "data:");
        while (at != std::string_view::npos) {
            std::size_t begin = at + 5;
            if (begin < event.size() && event[begin] == ' ') ++begin;
            std::size_t end = event.find('\n', begin);
            const std::string_view line = event.substr(begin, end == std::string_view::npos ? event.npos : end - begin);
            if (line != "[DONE]") AddText(line);
            at = end == std::string_view::npos ? end : core::Find(event, "data:", end);
        }
    });
    if (mode_ == Mode::kExact && pending_.size() >= kSliceBytes) CountPending(false);
}

StreamTokenCounter::~StreamTokenCounter() {
    core::GiveBack(std::move(pending_));
}

void StreamTokenCounter::AddText(std::string_view json) {
    core::Reserve(pending_, 256);  // not one allocation per doubling (and none once warm)
    AppendGeneratedText(json, pending_);
}

std::int64_t StreamTokenCounter::Total() {
    if (mode_ == Mode::kSampled && bytes_after_sample_ > 0 && sample_event_bytes_ > 0) {
        // The sample's tokens per byte of events, over every byte of the stream's events.
        const double sample = static_cast<double>(tokenizer_.Count(pending_));
        const double bytes = static_cast<double>(sample_event_bytes_ + bytes_after_sample_);
        return static_cast<std::int64_t>(sample * bytes / static_cast<double>(sample_event_bytes_) + 0.5);
    }
    CountPending(true);
    return counted_;
}

void StreamTokenCounter::CountPending(bool all) {
    if (pending_.empty()) return;
    std::size_t cut = pending_.size();
    if (!all) {
        // Before the last space or newline: the next word keeps its leading space, as the
        // tokenizer's split would. A long run without one (CJK text) is cut where it is.
        const std::size_t space = pending_.find_last_of(" \n");
        if (space != std::string::npos && space > 0)
            cut = space;
        else if (pending_.size() < 4 * kSliceBytes)
            return;
    }
    counted_ += static_cast<std::int64_t>(tokenizer_.Count(std::string_view(pending_).substr(0, cut)));
    pending_.erase(0, cut);
}

}  // namespace llmproxy::usage
