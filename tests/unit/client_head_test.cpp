// How the relay frames an upstream's answer for the client (stages/forward/client_head.hpp).
#include <gtest/gtest.h>

#include "stages/forward/client_head.hpp"

using namespace llmproxy;
using namespace llmproxy::stages;

namespace {

UpstreamResponse Response(unsigned status, std::initializer_list<std::pair<const char*, const char*>> fields) {
    UpstreamResponse res;
    res.result(status);
    for (const auto& [k, v] : fields) res.insert(k, v);
    return res;
}

}  // namespace

TEST(ClientFraming, NoBodyAnswers) {
    // 204: never a Content-Length (RFC 9110 8.6), even when the upstream sent one.
    auto f = FrameForClient(204, false, false, std::uint64_t{10}, true, 11);
    EXPECT_TRUE(f.no_body);
    EXPECT_FALSE(f.chunked);
    EXPECT_FALSE(f.length);
    EXPECT_TRUE(f.keep_client);
    // 304 and HEAD keep the upstream's length (it describes the representation).
    f = FrameForClient(304, false, false, std::uint64_t{10}, true, 11);
    EXPECT_EQ(f.length, 10u);
    f = FrameForClient(200, true, false, std::uint64_t{42}, true, 11);
    EXPECT_TRUE(f.no_body);
    EXPECT_EQ(f.length, 42u);
    f = FrameForClient(200, true, false, boost::none, true, 11);
    EXPECT_EQ(f.length, 0u);
}

TEST(ClientFraming, RewrittenStreamsAreChunkedAndUnknownLengthsCloseForHttp10) {
    auto f = FrameForClient(200, false, /*rewritable=*/true, std::uint64_t{500}, true, 11);
    EXPECT_TRUE(f.chunked);
    EXPECT_FALSE(f.length);
    f = FrameForClient(200, false, false, std::uint64_t{500}, true, 11);
    EXPECT_FALSE(f.chunked);
    EXPECT_EQ(f.length, 500u);
    // HTTP/1.0 has no chunked framing: the body ends with the connection.
    f = FrameForClient(200, false, true, std::uint64_t{500}, true, 10);
    EXPECT_FALSE(f.chunked);
    EXPECT_FALSE(f.length);
    EXPECT_FALSE(f.keep_client);
}

TEST(ClientHead, DropsUpstreamFramingAndHopByHopHeaders) {
    auto res = Response(200, {{"Content-Type", "text/event-stream"},
                              {"Content-Length", "99"},
                              {"Transfer-Encoding", "gzip, chunked"},
                              {"Connection", "x-secret-hop"},
                              {"X-Secret-Hop", "1"},
                              {"X-Request-ID", "up-7"}});
    const auto f = FrameForClient(200, false, true, boost::none, true, 11);
    const std::string head = BuildClientHead(res, "req-1", "x-extra: 1\r\n", f, false);
    EXPECT_EQ(head,
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nx-upstream-request-id: up-7\r\n"
              "x-request-id: req-1\r\nx-extra: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto close = FrameForClient(200, false, false, boost::none, true, 10);
    EXPECT_NE(BuildClientHead(res, "req-1", "", close, true).find("Connection: close\r\n"), std::string::npos);
}

TEST(HeadKind, InterimUpgradeAndInvalidStatuses) {
    EXPECT_EQ(KindOfHead(100), HeadKind::kInterim);
    EXPECT_EQ(KindOfHead(103), HeadKind::kInterim);
    EXPECT_EQ(KindOfHead(101), HeadKind::kUpgrade);
    EXPECT_EQ(KindOfHead(200), HeadKind::kFinal);
    EXPECT_EQ(KindOfHead(599), HeadKind::kFinal);
    EXPECT_EQ(KindOfHead(24), HeadKind::kInvalid);
    EXPECT_EQ(KindOfHead(600), HeadKind::kInvalid);
}
