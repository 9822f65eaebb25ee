#include "http/request_head.hpp"

#include <cctype>

namespace llmproxy {
namespace {

std::string_view Trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// A path segment that a server would resolve as "." or ".." (plain or percent-encoded dots),
// also with a ";param" tail, which Tomcat-style servers strip before resolving ("..;x/").
bool IsDotSegment(std::string_view seg) {
    std::size_t dots = 0;
    for (std::size_t i = 0; i < seg.size();) {
        if (seg[i] == ';' ||
            (seg.size() - i >= 3 && seg[i] == '%' && seg[i + 1] == '3' && (seg[i + 2] == 'b' || seg[i + 2] == 'B'))) {
            break;  // the parameters of the segment
        }
        if (seg[i] == '.') {
            ++dots;
            ++i;
        } else if (seg.size() - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' &&
                   (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            ++dots;
            i += 3;
        } else {
            return false;
        }
    }
    return dots == 1 || dots == 2;
}

}  // namespace

bool IsSafeTargetPath(std::string_view path) {
    if (path.empty() || path.front() != '/') return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '\\') return false;
        if (c == '%' && i + 2 < path.size()) {
            const char a = path[i + 1], b = static_cast<char>(std::tolower(static_cast<unsigned char>(path[i + 2])));
            if ((a == '2' && b == 'f') || (a == '5' && b == 'c')) return false;  // encoded '/' or '\'
        }
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::string_view seg =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (slash != std::string_view::npos && seg.empty()) return false;  // "//"
        if (IsDotSegment(seg)) return false;
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return true;
}

std::optional<core::LocalReply> CheckRequestHead(const http::request_header<HeadFields>& head) {
    // Transfer-Encoding: exactly one coding, "chunked" (nginx answers 501 otherwise too).
    std::size_t te_lines = 0;
    bool te_ok = true;
    for (const auto& f : head) {
        if (f.name() != http::field::transfer_encoding) continue;
        ++te_lines;
        const auto v = f.value();
        te_ok = te_ok && beast::iequals(Trim(std::string_view(v.data(), v.size())), "chunked");
    }
    if (te_lines > 1 || !te_ok) {
        return core::LocalReply{501,
                                "invalid_request_error",
                                "unsupported_transfer_encoding",
                                "Transfer-Encoding other than 'chunked' is not supported",
                                {},
                                {}};
    }
    if (head.version() >= 11 && head.count(http::field::host) != 1) {
        return core::BadRequest("An HTTP/1.1 request needs exactly one Host header", "bad_request");
    }
    const std::string_view target(head.target().data(), head.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (!IsSafeTargetPath(path)) {
        return core::BadRequest(
            "The request path has dot segments, empty segments or encoded slashes; send a normalised path",
            "invalid_path");
    }
    return std::nullopt;
}

}  // namespace llmproxy
