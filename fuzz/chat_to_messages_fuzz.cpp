// libFuzzer target: an OpenAI-compatible upstream's stream (one event's data per input line)
// translated for an Anthropic client, and the same bytes as whole bodies and requests.
// Properties: no crash; every frame is "event: <name>\ndata: <JSON object>\n\n" with the
// name equal to the data's type; the stream ends with message_stop or error once finished,
// and message_start comes first.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "providers/translate/bodies.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/streams.hpp"

namespace {

using namespace llmproxy::providers::translate;

void CheckFrames(const std::string& out) {
    std::string_view rest = out;
    bool first = true;
    std::string last;
    while (!rest.empty()) {
        if (!rest.starts_with("event: ")) __builtin_trap();
        const auto name_end = rest.find('\n');
        const std::string name(rest.substr(7, name_end - 7));
        rest.remove_prefix(name_end + 1);
        if (!rest.starts_with("data: ")) __builtin_trap();
        const auto data_end = rest.find("\n\n");
        if (data_end == std::string_view::npos) __builtin_trap();
        boost::system::error_code ec;
        auto v = boost::json::parse(rest.substr(6, data_end - 6), ec);
        if (ec || !v.is_object() || v.as_object().at("type") != boost::json::value(name)) __builtin_trap();
        if (first && name != "message_start" && name != "error") __builtin_trap();
        first = false;
        last = name;
        rest.remove_prefix(data_end + 2);
    }
    if (last != "message_stop" && last != "error") __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    ChatToMessagesStream stream("m");
    std::string out;
    std::string_view rest = input;
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        stream.OnData(rest.substr(0, eol), out);
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 1);
    }
    stream.Finish(out);
    CheckFrames(out);
    (void)ChatToMessageBody(input, "m");
    (void)ErrorToAnthropic(input, 500);
    (void)MessagesToChatRequest(input, {.upstream_model = "u"});
    return 0;
}
