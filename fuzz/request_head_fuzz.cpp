// libFuzzer target: a client's request head, parsed as the session parses it, then checked by
// CheckRequestHead. Property: a head that passes has no framing a proxy would have to guess
// at (Transfer-Encoding other than one "chunked"; HTTP/1.1 without exactly one Host), and its
// path, decoded once as a server behind us would, has no "." or ".." segment (also with a
// ";param" tail, as Tomcat-style servers read it), no empty segment and no backslash.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request_head.hpp"

namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string DecodeOnce(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// The oracle: what a normalising server would make of the path.
bool PathLooksSafe(std::string_view raw) {
    if (raw.empty() || raw.front() != '/') return false;
    const std::string path = DecodeOnce(raw);
    if (path.find('\\') != std::string::npos) return false;
    std::size_t start = 1;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        std::string_view seg =
            std::string_view(path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (slash != std::string::npos && seg.empty()) return false;
        seg = seg.substr(0, seg.find(';'));
        if (seg == "." || seg == "..") return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace llmproxy;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // The path check alone, on anything.
    if (IsSafeTargetPath(input) && !PathLooksSafe(input)) __builtin_trap();

    http::request_parser<http::empty_body, HeadAllocator> parser;  // the gateway's head type
    parser.header_limit(16 * 1024);
    error_code ec;
    parser.put(asio::buffer(input.data(), input.size()), ec);
    if (!parser.is_header_done()) return 0;
    const auto& head = parser.get();
    if (CheckRequestHead(head)) return 0;  // refused: fine whatever the reason

    std::size_t te_lines = 0;
    for (const auto& f : head) {
        if (f.name() != http::field::transfer_encoding) continue;
        ++te_lines;
        std::string_view v(f.value().data(), f.value().size());
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        if (!beast::iequals(v, "chunked")) __builtin_trap();
    }
    if (te_lines > 1) __builtin_trap();
    if (head.version() >= 11 && head.count(http::field::host) != 1) __builtin_trap();
    const std::string_view target(head.target().data(), head.target().size());
    if (!PathLooksSafe(target.substr(0, target.find('?')))) __builtin_trap();
    return 0;
}
