#include "http/wire.hpp"

#include <cstring>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace llmproxy::wire {

bool IsHopByHop(http::field field, std::string_view name, std::string_view connection) {
    using beast::iequals;
    switch (field) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade:
            return true;
        case http::field::host:
            return false;
        default:
            break;
    }
    if (connection.empty()) return false;
    // Connection: close, X-Foo  -> X-Foo is hop-by-hop too. Not for the headers that say what
    // the body is or where it goes: a client naming Content-Type there would have the upstream
    // read its body differently from the gateway (as nginx, never honoured for those).
    if (name.size() >= 8 && iequals(name.substr(0, 8), "content-")) return false;
    while (!connection.empty()) {
        auto comma = connection.find(',');
        auto token = connection.substr(0, comma);
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
        if (!token.empty() && iequals(token, name)) return true;
        if (comma == std::string_view::npos) break;
        connection.remove_prefix(comma + 1);
    }
    return false;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
    // One growth and three copies, not four appends (each with its own capacity check): a
    // dozen headers a proxied request.
    const std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* p = out.data() + at;
    if (!name.empty()) std::memcpy(p, name.data(), name.size());  // (a null view's data: not memcpy's)
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    if (!value.empty()) std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p = '\n';
}

void AppendStatusLine(std::string& out, unsigned status, std::string_view reason) {
    out.append("HTTP/1.1 ");
    out.append(std::to_string(status));
    out.push_back(' ');
    if (reason.empty()) {
        auto r = http::obsolete_reason(static_cast<http::status>(status));
        out.append(r.data(), r.size());
    } else {
        out.append(reason);
    }
    out.append(kCrlf);
}

std::string_view ChunkSizeLine(std::size_t size, char (&buf)[24]) {
    static constexpr char kHex[] = "0123456789abcdef";
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = kHex[size & 0xf];
        size >>= 4;
    } while (size);
    int len = 0;
    while (n) buf[len++] = tmp[--n];
    buf[len++] = '\r';
    buf[len++] = '\n';
    return {buf, static_cast<std::size_t>(len)};
}

}  // namespace llmproxy::wire
