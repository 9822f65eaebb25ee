#include "stages/forward/upstream_head.hpp"

#include "core/string_pool.hpp"
#include "http/wire.hpp"

namespace llmproxy::stages {
namespace {

// Names a script may not set: credentials, framing, hop-by-hop and the gateway's own.
bool ReservedForTheGateway(std::string_view name, const ForwardInput& in) {
    using beast::iequals;
    static constexpr std::string_view kReserved[] = {
        "host",       "content-length", "transfer-encoding",  "connection", "authorization", "x-api-key",
        "api-key",    "x-request-id",   "traceparent",        "expect",     "upgrade",       "te",
        "keep-alive", "trailer",        "proxy-authorization"};
    for (auto h : kReserved) {
        if (iequals(name, h)) return true;
    }
    for (const auto& [h, v] : in.provider.headers) {
        if (iequals(name, h)) return true;
    }
    return false;
}

bool IsSkippedRequestHeader(http::field field, std::string_view name, std::string_view connection,
                            const ForwardInput& in) {
    using beast::iequals;
    const auto& p = in.provider;
    switch (field) {
        // The client's credentials are for the gateway, never for the upstream; framing and
        // encoding are the gateway's.
        case http::field::host:
        case http::field::content_length:
        case http::field::expect:
        case http::field::authorization:
        case http::field::accept_encoding:
            return true;
        case http::field::unknown: {
            static constexpr std::string_view kDrop[] = {"x-api-key", "api-key", "x-request-id", "traceparent"};
            for (auto h : kDrop) {
                if (iequals(name, h)) return true;
            }
            // They would choose another organization or project of the provider's account.
            if (!p.forward_account_headers &&
                (iequals(name, "openai-organization") || iequals(name, "openai-project"))) {
                return true;
            }
            break;
        }
        default:
            break;
    }
    for (const auto& [h, v] : p.headers) {
        if (iequals(name, h)) return true;  // provider-configured headers win
    }
    for (const auto& [h, v] : in.script_headers) {
        if (iequals(name, h)) return true;  // a script's value replaces the client's
    }
    return wire::IsHopByHop(field, name, connection);
}

}  // namespace

std::string BuildUpstreamHead(const ForwardInput& in) {
    const auto& req = in.request;
    const auto& p = in.provider;
    std::string head = core::TakeString(512);  // given back once the request is sent and answered
    auto method = req.method_string();
    head.append(method.data(), method.size());
    head.push_back(' ');
    head.append(in.upstream_target);
    head.append(" HTTP/1.1\r\n");
    wire::AppendHeader(head, "Host", p.host_header);
    const std::string_view conn_sv = wire::FindField(req, http::field::connection);
    for (const auto& f : req) {
        auto name = f.name_string();
        std::string_view n(name.data(), name.size());
        if (IsSkippedRequestHeader(f.name(), n, conn_sv, in)) continue;
        auto v = f.value();
        // The adapter's policy: a dialect's headers (anthropic-version, -beta) stay with it.
        in.adapter.AppendClientHeader(p, n, std::string_view(v.data(), v.size()), head);
    }
    for (const auto& [name, value] : in.script_headers) {
        if (!ReservedForTheGateway(name, in)) wire::AppendHeader(head, name, value);
    }
    in.adapter.AppendAuthHeaders(p, head);
    bool encoding_set = false;
    for (const auto& [h, v] : p.headers) {
        wire::AppendHeader(head, h, v);
        encoding_set = encoding_set || beast::iequals(h, "accept-encoding");
    }
    // Plain text back: the relay reads events and usage from it (a compressed stream could
    // only be passed through whole). The client's own Accept-Encoding is not forwarded.
    if (!encoding_set) wire::AppendHeader(head, "Accept-Encoding", "identity");
    wire::AppendHeader(head, "X-Request-ID", in.request_id);
    if (!in.traceparent.empty()) wire::AppendHeader(head, "traceparent", in.traceparent);
    if (!in.body.empty() || req.method() == http::verb::post || req.method() == http::verb::put ||
        req.method() == http::verb::patch) {
        wire::AppendHeader(head, "Content-Length", std::to_string(in.body.size()));
    }
    head.append(wire::kCrlf);
    return head;
}

}  // namespace llmproxy::stages
