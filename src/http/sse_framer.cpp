#include "http/sse_framer.hpp"

#include "core/string_pool.hpp"

namespace llmproxy::sse {

std::size_t SseFramer::Scan(std::string_view data) {
    std::size_t boundary = 0;
    if (data.empty()) return 0;  // (memchr must not see the null of an empty view)
    if (!cr_pending_ && std::memchr(data.data(), '\r', data.size()) == nullptr) {
        // No CR (the usual case): jump from line end to line end.
        std::size_t pos = 0;
        while (pos < data.size()) {
            const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
            if (!nl) break;
            const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
            line_len_ += i - pos;
            if (line_len_ == 0) boundary = i + 1;  // an empty line dispatches the event
            line_len_ = 0;
            pos = i + 1;
        }
        line_len_ += data.size() - pos;
        return boundary;
    }
    auto end_of_line = [&](std::size_t end) {
        if (line_len_ == 0) boundary = end;  // an empty line dispatches the event
        line_len_ = 0;
    };
    for (std::size_t i = 0; i < data.size(); ++i) {
        char c = data[i];
        if (cr_pending_) {
            cr_pending_ = false;
            if (c == '\n') {
                end_of_line(i + 1);  // "\r\n" ends the line after the '\n'
                continue;
            }
            end_of_line(i);  // a lone '\r' ended the line; c starts the next one
        }
        if (c == '\r') {
            cr_pending_ = true;
        } else if (c == '\n') {
            end_of_line(i + 1);
        } else {
            ++line_len_;
        }
    }
    return boundary;
}

std::string_view SseFramer::Feed(std::string_view data) {
    if (pending_view_) {
        held_.clear();
        pending_view_ = false;
    }
    if (pending_.empty()) {
        std::size_t boundary = Scan(data);
        const std::string_view rest = data.substr(boundary);
        core::Reserve(pending_, rest.size());
        pending_.assign(rest);
        if (pending_.size() > kMaxHeldBytes) {
            // Pathological upstream: one event of many MiB. Forward it rather than grow forever.
            held_ = std::move(pending_);
            pending_.clear();
            pending_view_ = true;
            // data[0, boundary) + the oversized rest: simply return everything.
            held_.insert(0, data.substr(0, boundary));
            return held_;
        }
        return data.substr(0, boundary);  // common case: zero-copy
    }
    std::size_t old = pending_.size();
    std::size_t boundary = Scan(data);
    pending_.append(data);
    std::size_t cut = boundary == 0 ? 0 : old + boundary;
    if (cut == 0 && pending_.size() <= kMaxHeldBytes) return {};
    if (cut == 0) cut = pending_.size();
    core::Reserve(held_, cut);
    held_.assign(pending_, 0, cut);
    pending_.erase(0, cut);
    pending_view_ = true;
    return held_;
}

SseFramer::~SseFramer() {
    core::GiveBack(std::move(pending_));
    core::GiveBack(std::move(held_));
}

std::string SseFramer::TakeRemainder() {
    std::string out = std::move(pending_);
    pending_.clear();
    line_len_ = 0;
    cr_pending_ = false;
    return out;
}

std::string_view EventData(std::string_view event, std::string& joined) {
    std::string_view data;
    int lines = 0;
    while (!event.empty()) {
        const auto eol = event.find_first_of("\r\n");
        std::string_view line = event.substr(0, eol);
        if (line.starts_with("data:")) {
            line.remove_prefix(5);
            if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            if (++lines == 1) {
                data = line;
            } else {
                if (lines == 2) joined.assign(data);
                joined += '\n';
                joined.append(line);
                data = joined;
            }
        }
        if (eol == std::string_view::npos) break;
        const char separator = event[eol];
        event.remove_prefix(eol + 1);
        if (separator == '\r' && !event.empty() && event.front() == '\n') event.remove_prefix(1);
    }
    return data;
}

}  // namespace llmproxy::sse
