// libFuzzer target: an upstream's response bytes, parsed as the relay parses them (heads read
// past 1xx, the body handed on as views into the read buffer) and framed for the client.
// Properties: the relayed body is exactly what a plain Beast string-body parser reads from
// the same bytes; a 101 or a 1xx is never taken as the final answer; the head written to the
// client parses again, with exactly the framing chosen (one Content-Length or chunked, none
// for 204 and no body after 204/304/HEAD) and no upstream framing header left in it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stages/forward/client_head.hpp"

namespace {

using namespace llmproxy;

constexpr int kMaxInterim = 16;

// Feeds `p` from in[pos..] in windows growing by `step` (as socket reads would) until its head
// (or, with whole = true, its message) is done; false when the input ran out first or on error.
template <class Parser>
bool Drive(Parser& p, std::string_view in, std::size_t& pos, std::size_t step, bool whole, bool& failed) {
    std::size_t window = step;
    for (;;) {
        if (whole ? p.is_done() : p.is_header_done()) return true;
        const std::size_t rest = in.size() - pos;
        const std::size_t avail = std::min(window, rest);
        error_code ec;
        if (avail > 0) pos += p.put(asio::buffer(in.data() + pos, avail), ec);
        if (avail == 0 || (ec == http::error::need_more && avail == rest)) {  // out of input
            if (!whole || !p.is_header_done()) return false;
            error_code eof;
            p.put_eof(eof);  // a body delimited by the close
            if (eof) failed = true;
            return !eof;
        }
        if (ec == http::error::need_more) {
            window += step;
            continue;
        }
        if (ec) {
            failed = true;
            return false;
        }
        window = step;
    }
}

struct Parsed {
    bool final_head = false, done = false, failed = false;
    unsigned status = 0;
    std::string body;
};

// Reads heads past interim answers, then the body, with parser type P (fresh per head).
template <class P, class Collect>
Parsed ParseResponse(std::string_view in, std::size_t step, bool head_request, P& parser, Collect collect,
                     boost::optional<std::uint64_t> body_limit) {
    Parsed out;
    std::size_t pos = 0;
    for (int interim = 0;; ++interim) {
        parser.emplace();
        parser->body_limit(body_limit);
        parser->header_limit(64 * 1024);
        if (head_request) parser->skip(true);
        if (!Drive(*parser, in, pos, step, false, out.failed)) return out;
        out.status = parser->get().result_int();
        const auto kind = stages::KindOfHead(out.status);
        if (kind == stages::HeadKind::kFinal) break;
        if (kind == stages::HeadKind::kInvalid) return out;  // the relay answers 502
        if (out.status / 100 != 1) __builtin_trap();         // a 2xx-5xx taken for an interim head
        if (kind == stages::HeadKind::kUpgrade || interim == kMaxInterim) return out;
    }
    out.final_head = true;
    out.done = Drive(*parser, in, pos, step, true, out.failed);
    collect(*parser, out.body);
    return out;
}

std::size_t CountField(const http::fields& f, http::field name) {
    return static_cast<std::size_t>(std::distance(f.equal_range(name).first, f.equal_range(name).second));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const std::size_t step = 1 + data[1] % 64;
    const bool head_request = flags & 1, http10 = flags & 2, keep_alive = flags & 4, rewritable = flags & 8;
    const std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

    std::optional<http::response_parser<upstream::RelayBody, HeadAllocator>> relay;  // the relay's parser type
    const Parsed got = ParseResponse(
        in, step, head_request, relay,
        [](auto& p, std::string& body) {
            for (auto piece : p.get().body().pieces) body.append(piece);
        },
        boost::none);  // as the relay: no limit, nothing reserved
    // The reference reserves a body's announced length: bounded by what the input can hold.
    std::optional<http::response_parser<http::string_body>> plain;
    const Parsed want = ParseResponse(
        in, step, head_request, plain, [](auto& p, std::string& body) { body = p.get().body(); }, in.size());
    // (The reference may refuse what its body limit cannot hold; then there is nothing to compare.)
    if (!want.failed && got.final_head != want.final_head) __builtin_trap();
    if (got.done && want.done && got.body != want.body) __builtin_trap();
    if (!got.final_head) return 0;

    const auto& res = relay->get();
    const auto framing = stages::FrameForClient(got.status, head_request, rewritable, relay->content_length(),
                                                keep_alive, http10 ? 10 : 11);
    const std::string head = stages::BuildClientHead(res, "req-1", "", framing, http10);

    http::response_parser<http::empty_body> check;
    check.skip(true);
    error_code ec;
    check.put(asio::buffer(head), ec);
    if (ec || !check.is_header_done()) __builtin_trap();  // the client could not read our head
    const auto& out = check.get();
    const std::size_t lengths = CountField(out, http::field::content_length);
    const std::size_t codings = CountField(out, http::field::transfer_encoding);
    if (framing.chunked) {
        if (codings != 1 || lengths != 0 || out[http::field::transfer_encoding] != "chunked") __builtin_trap();
    } else {
        if (codings != 0) __builtin_trap();
        if (lengths != (framing.length ? 1u : 0u)) __builtin_trap();
    }
    if (got.status == 204 && lengths != 0) __builtin_trap();
    if (framing.no_body != (got.status == 204 || got.status == 304 || head_request)) __builtin_trap();
    if (framing.chunked && (framing.no_body || http10)) __builtin_trap();
    if (CountField(out, http::field::upgrade) != 0) __builtin_trap();  // hop-by-hop: never relayed
    return 0;
}
