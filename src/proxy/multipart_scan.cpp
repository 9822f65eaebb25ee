#include "proxy/multipart_scan.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace llmproxy::proxy {
namespace {

std::string_view Trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// A parameter of a header value ("form-data; name=\"model\""), unquoted; nullopt when absent.
std::optional<std::string_view> Param(std::string_view value, std::string_view param) {
    std::size_t at = value.find(';');
    while (at != std::string_view::npos) {
        value.remove_prefix(at + 1);
        const std::size_t next = value.find(';');
        std::string_view item = Trim(value.substr(0, next));
        const std::size_t eq = item.find('=');
        if (eq != std::string_view::npos && boost::beast::iequals(Trim(item.substr(0, eq)), param)) {
            std::string_view v = Trim(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v;
        }
        at = next;
    }
    return std::nullopt;
}

// The form field name of a part, from its headers ("" when it has none).
std::string_view PartName(std::string_view headers) {
    while (!headers.empty()) {
        const std::size_t eol = headers.find("\r\n");
        const std::string_view line = headers.substr(0, eol);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos &&
            boost::beast::iequals(Trim(line.substr(0, colon)), "content-disposition")) {
            return Param(line.substr(colon + 1), "name").value_or(std::string_view());
        }
        if (eol == std::string_view::npos) break;
        headers.remove_prefix(eol + 2);
    }
    return {};
}

}  // namespace

MultipartField FindMultipartField(std::string_view body, std::string_view content_type, std::string_view name,
                                  std::size_t max_value) {
    MultipartField out;
    const std::size_t semi = content_type.find(';');
    if (!boost::beast::iequals(Trim(content_type.substr(0, semi)), "multipart/form-data")) return out;
    const auto boundary = Param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 200) return out;
    const std::string delimiter = "--" + std::string(*boundary);
    const std::string next_delimiter = "\r\n" + delimiter;
    std::size_t at = body.find(delimiter);
    while (at != std::string_view::npos) {
        std::size_t part = at + delimiter.size();
        if (body.substr(part, 2) == "--") break;  // the close delimiter
        const std::size_t line_end = body.find("\r\n", part);
        if (line_end == std::string_view::npos) break;
        // The part runs to the next delimiter; its headers end inside it, never past it.
        const std::size_t end = body.find(next_delimiter, line_end);
        const std::size_t start = line_end + 2, stop = end == std::string_view::npos ? body.size() : end;
        const std::string_view bytes = stop > start ? body.substr(start, stop - start) : std::string_view();
        const std::size_t blank = bytes.starts_with("\r\n") ? 0 : bytes.find("\r\n\r\n");
        if (blank != std::string_view::npos && boost::beast::iequals(PartName(bytes.substr(0, blank)), name)) {
            const std::size_t size = bytes.size() - std::min(bytes.size(), blank + (blank == 0 ? 2 : 4));
            if (out.outcome == MultipartField::kFound || size > max_value) {
                out.outcome = MultipartField::kAmbiguous;
                out.value.clear();
                return out;
            }
            out.outcome = MultipartField::kFound;
            out.value.assign(bytes.substr(bytes.size() - size));
        }
        if (end == std::string_view::npos) break;
        at = end + 2;
    }
    return out;
}

}  // namespace llmproxy::proxy
