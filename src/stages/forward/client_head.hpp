#pragma once
// What the relay writes to the client for an upstream's final response head: how the body is
// framed (length, chunked, none) and the head itself. Pure functions of the heads, so that odd
// upstream answers (204/304 with a length, HEAD, HTTP/1.0 clients, event streams the relay
// rewrites) can be unit-tested and fuzzed without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/optional.hpp>

#include "http/head_memory.hpp"
#include "http/relay_body.hpp"

namespace llmproxy::stages {

using UpstreamResponse = http::response<upstream::RelayBody, HeadFields>;

struct ClientFraming {
    bool no_body = false;                 // 204, 304, or the answer to HEAD: nothing follows the head
    bool chunked = false;                 // relayed with chunked framing (HTTP/1.1 client, length unknown)
    std::optional<std::uint64_t> length;  // the Content-Length to announce, if any
    bool keep_client = false;             // the client connection may serve another request
};

/// `upstream_length`: the upstream's Content-Length; `rewritable`: an event stream the observers
/// may rewrite (its length is the relay's, never the upstream's).
ClientFraming FrameForClient(unsigned status, bool head_request, bool rewritable,
                             boost::optional<std::uint64_t> upstream_length, bool client_keep_alive,
                             unsigned client_version);

/// What the response chain changed in the head (a translation's status and content type).
struct HeadRewrite {
    unsigned status = 0;            // 0: the upstream's
    std::string_view content_type;  // empty: the upstream's
};

/// The client's head: the upstream's status and end-to-end headers, our x-request-id (the
/// upstream's becomes x-upstream-request-id), `extra` lines, then the framing headers.
std::string BuildClientHead(const UpstreamResponse& res, std::string_view request_id, std::string_view extra,
                            const ClientFraming& framing, bool http10, const HeadRewrite& rewrite = {});

/// Of the heads an upstream may send: kInterim (100, 102, 103: read on), kUpgrade (101, never
/// asked for), kInvalid (a status outside 100-599, which Beast parses but no client would:
/// "HTTP/1.1 024" relayed as "24"), kFinal.
enum class HeadKind { kFinal, kInterim, kUpgrade, kInvalid };
inline HeadKind KindOfHead(unsigned status) {
    if (status < 100 || status > 599) return HeadKind::kInvalid;
    if (status == 101) return HeadKind::kUpgrade;
    return status / 100 == 1 ? HeadKind::kInterim : HeadKind::kFinal;
}

}  // namespace llmproxy::stages
