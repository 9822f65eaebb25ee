#include "stages/forward/client_head.hpp"

#include "core/string_pool.hpp"
#include "http/wire.hpp"

namespace llmproxy::stages {

ClientFraming FrameForClient(unsigned status, bool head_request, bool rewritable,
                             boost::optional<std::uint64_t> upstream_length, bool client_keep_alive,
                             unsigned client_version) {
    ClientFraming f;
    f.no_body = status == 204 || status == 304 || head_request;
    const auto length = rewritable && !f.no_body ? boost::optional<std::uint64_t>() : upstream_length;
    f.chunked = !f.no_body && !length && client_version >= 11;
    f.keep_client = client_keep_alive && (f.chunked || length || f.no_body);
    // A 204 never carries Content-Length (RFC 9110 8.6); a 304 or a HEAD answer keeps the
    // upstream's (it describes the representation, not this message).
    if (status != 204) {
        if (length)
            f.length = *length;
        else if (f.no_body && status != 304)
            f.length = 0;
    }
    return f;
}

std::string BuildClientHead(const UpstreamResponse& res, std::string_view request_id, std::string_view extra,
                            const ClientFraming& framing, bool http10, const HeadRewrite& rewrite) {
    std::string head = core::TakeString(512);  // given back once written
    if (rewrite.status && rewrite.status != res.result_int()) {
        wire::AppendStatusLine(head, rewrite.status);
    } else {
        auto reason = res.reason();
        wire::AppendStatusLine(head, res.result_int(), std::string_view(reason.data(), reason.size()));
    }
    const std::string_view conn_sv = wire::FindField(res, http::field::connection);
    for (const auto& f : res) {
        auto name = f.name_string();
        std::string_view n(name.data(), name.size());
        auto value = f.value();
        std::string_view v(value.data(), value.size());
        const http::field field = f.name();
        if (field == http::field::content_length || wire::IsHopByHop(field, n, conn_sv)) continue;
        if (!rewrite.content_type.empty() && field == http::field::content_type) continue;
        if (field == http::field::unknown && beast::iequals(n, "x-request-id")) {
            // Clients correlate by our id; keep the upstream's for support tickets.
            wire::AppendHeader(head, "x-upstream-request-id", v);
            continue;
        }
        wire::AppendHeader(head, n, v);
    }
    if (!rewrite.content_type.empty()) wire::AppendHeader(head, "Content-Type", rewrite.content_type);
    wire::AppendHeader(head, "x-request-id", request_id);
    head.append(extra);
    if (framing.chunked)
        head.append("Transfer-Encoding: chunked\r\n");
    else if (framing.length)
        wire::AppendHeader(head, "Content-Length", std::to_string(*framing.length));
    if (!framing.keep_client)
        head.append("Connection: close\r\n");
    else if (http10)
        head.append("Connection: keep-alive\r\n");  // HTTP/1.0 closes unless told
    head.append(wire::kCrlf);
    return head;
}

}  // namespace llmproxy::stages
