#pragma once
// A string of at most N characters held inside its owner: for the ids every request makes
// (request id, traceparent, event id), which are a little over std::string's 15-character
// inline capacity and so cost a heap allocation each as std::string (issue #20).
#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace llmproxy::core {

template <std::size_t N>
class InlineString {
public:
    InlineString() = default;
    /// Keeps the first N characters of `s` (callers pass what fits; ids are checked first).
    explicit InlineString(std::string_view s) { assign(s); }

    void assign(std::string_view s) {
        size_ = std::min(s.size(), N);
        std::copy_n(s.data(), size_, chars_.data());
    }
    void push_back(char c) {
        if (size_ < N) chars_[size_++] = c;
    }
    void append(std::string_view s) {
        const std::size_t n = std::min(s.size(), N - size_);
        std::copy_n(s.data(), n, chars_.data() + size_);
        size_ += n;
    }

    std::string_view view() const { return {chars_.data(), size_}; }
    operator std::string_view() const { return view(); }
    const char* data() const { return chars_.data(); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    friend bool operator==(const InlineString& a, std::string_view b) { return a.view() == b; }
    friend bool operator==(const InlineString& a, const InlineString& b) { return a.view() == b.view(); }

private:
    std::array<char, N> chars_;
    std::size_t size_ = 0;
};

}  // namespace llmproxy::core
