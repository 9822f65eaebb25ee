// libFuzzer target: an Anthropic upstream's stream (one event's data per input line) translated
// for an OpenAI client, and the same bytes as whole bodies and requests. Properties: no crash;
// every frame is "data: <JSON object>\n\n" or the final "data: [DONE]\n\n", which comes last
// and at most once.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "providers/translate/bodies.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/streams.hpp"

using namespace llmproxy::providers::translate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    MessagesToChatStream stream("m", size % 2 == 0);
    std::string out;
    std::string_view rest = input;
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        stream.OnEvent(rest.substr(0, eol), out);
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 1);
    }
    stream.Finish(out);
    std::string_view frames = out;
    bool done = false;
    while (!frames.empty()) {
        if (done || !frames.starts_with("data: ")) __builtin_trap();
        const auto end = frames.find("\n\n");
        if (end == std::string_view::npos) __builtin_trap();
        const std::string_view payload = frames.substr(6, end - 6);
        if (payload == "[DONE]") {
            done = true;
        } else {
            boost::system::error_code ec;
            auto v = boost::json::parse(payload, ec);
            if (ec || !v.is_object()) __builtin_trap();
        }
        frames.remove_prefix(end + 2);
    }
    bool ok = false;
    (void)MessageToChatBody(input, "m", ok);
    (void)ErrorToOpenAI(input, 429);
    (void)ChatToMessagesRequest(input, {.upstream_model = "u"});
    return 0;
}
