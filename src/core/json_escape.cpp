#include "core/json_escape.hpp"

#include <cstdint>
#include <cstring>

namespace llmproxy::core {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0 when it is not
// one (stray continuation byte, truncated, overlong, surrogate, beyond U+10FFFF).
std::size_t ValidUtf8Length(std::string_view text, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = b(i);
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;  // overlong
        if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;  // overlong
        if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
    } else {
        return 0;
    }
    if (i + n > text.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k) {
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    }
    return n;
}

// True when none of the 8 bytes of `w` needs a look: no control byte, no byte >= 0x80, no
// quote, no backslash (the classic zero-byte tests on a 64-bit word).
bool EightPlainBytes(std::uint64_t w) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    const auto has_zero = [&](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
    return ((w & kHigh) | below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) == 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    // No reserve() here: an exact reserve per field defeats std::string's geometric growth and
    // re-copies the whole line for every field appended. Callers reserve once.
    out.push_back('"');
    // Runs of bytes that need no escape (nearly all of them) are appended in one go.
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        // Eight plain bytes at a time: ids, models and paths are nearly all plain ASCII.
        while (i + 8 <= text.size()) {
            std::uint64_t w;
            std::memcpy(&w, text.data() + i, 8);
            if (!EightPlainBytes(w)) break;
            i += 8;
        }
        // The last few bytes as one word too, overlapping what was checked: plain, and the
        // rest of the text is (not byte by byte).
        if (i < text.size() && text.size() >= 8 && i + 8 > text.size()) {
            std::uint64_t w;
            std::memcpy(&w, text.data() + text.size() - 8, 8);
            if (EightPlainBytes(w)) break;
        }
        if (i >= text.size()) break;
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
        if (c >= 0x80) {
            // Valid UTF-8 passes through unchanged; anything else (a raw byte in a path, say)
            // becomes U+FFFD, so the output is always valid JSON.
            if (const std::size_t n = ValidUtf8Length(text, i)) {
                i += n - 1;
                continue;
            }
            out.append(text.data() + run, i - run);
            run = i + 1;
            out += "\\ufffd";
            continue;
        }
        out.append(text.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xf]);
        }
    }
    out.append(text.data() + run, text.size() - run);
    out.push_back('"');
}

}  // namespace llmproxy::core
