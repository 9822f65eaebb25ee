#include "providers/translate/translator.hpp"

#include "http/sse_framer.hpp"
#include "providers/translate/bodies.hpp"
#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {
namespace {

// Stream is one of the stream translators; the body and error functions go with it.
template <typename Stream, std::string (*kBody)(std::string_view, const TranslatorOptions&),
          std::string (*kError)(std::string_view, unsigned), bool kToOpenAI>
class Translator final : public ResponseObserver {
public:
    Translator(Stream stream, TranslatorOptions options) : stream_(std::move(stream)), options_(std::move(options)) {}

    void OnHead(ResponseHead& head) override {
        status_ = head.status;
        head.translated = true;
        // Anthropic's 529 (overloaded) is no status OpenAI clients know: they get 503.
        if (kToOpenAI && head.status == 529) head.status = 503;
        if (head.sse && status_ < 400) return;  // event by event
        head.whole_body = true;
        head.content_type = "application/json";
    }
    std::string_view OnEvents(std::string_view events) override {
        out_.clear();
        Translate(events);
        return out_;
    }
    std::string_view OnLastEvents(std::string_view events) override {
        out_.clear();
        Translate(events);
        stream_.Finish(out_);
        return out_;
    }
    std::string_view OnCut(const core::LocalReply& error, std::string_view event) override {
        if constexpr (requires(std::string & out) { stream_.Fail(error.code, error.message, out); }) {
            out_.clear();
            stream_.Fail(error.code.empty() ? std::string_view(error.type) : std::string_view(error.code),
                         error.message, out_);
            return out_;
        }
        return event;
    }
    std::string_view OnWholeBody(std::string_view body) override {
        out_ = status_ < 400 ? kBody(body, options_) : kError(body, status_);
        return out_;
    }

private:
    void Translate(std::string_view events) {
        std::size_t seen = 0;
        sse::ForEachEvent(events, [&](std::string_view event) {
            seen += event.size();
            Feed(sse::EventData(event, joined_));  // empty for a comment: a keep-alive
        });
        // The stream's last event may lack its blank line.
        if (seen < events.size()) {
            const std::string_view data = sse::EventData(events.substr(seen), joined_);
            if (!data.empty()) Feed(data);
        }
    }
    void Feed(std::string_view data) {
        if constexpr (requires { stream_.OnData(data, out_); })
            stream_.OnData(data, out_);
        else
            stream_.OnEvent(data, out_);
    }

    Stream stream_;
    TranslatorOptions options_;
    unsigned status_ = 0;
    std::string out_;
    std::string joined_;
};

// Two translators in a row (Messages -> chat -> Responses): each sees what the first relays.
class Composed final : public ResponseObserver {
public:
    Composed(std::unique_ptr<ResponseObserver> first, std::unique_ptr<ResponseObserver> second)
        : first_(std::move(first)), second_(std::move(second)) {}
    void OnHead(ResponseHead& head) override {
        first_->OnHead(head);
        second_->OnHead(head);
    }
    std::string_view OnEvents(std::string_view events) override {
        events = first_->OnEvents(events);
        return events.empty() ? events : second_->OnEvents(events);
    }
    std::string_view OnLastEvents(std::string_view events) override {
        return second_->OnLastEvents(first_->OnLastEvents(events));
    }
    std::string_view OnCut(const core::LocalReply& error, std::string_view event) override {
        return second_->OnCut(error, first_->OnCut(error, event));
    }
    std::string_view OnWholeBody(std::string_view body) override {
        return second_->OnWholeBody(first_->OnWholeBody(body));
    }

private:
    std::unique_ptr<ResponseObserver> first_, second_;
};

std::string ChatToMessage(std::string_view body, const TranslatorOptions& options) {
    return ChatToMessageBody(body, options.model);
}

std::string MessageToChat(std::string_view body, const TranslatorOptions& options) {
    bool ok = false;
    return MessageToChatBody(body, options.model, ok);
}

ResponsesStreamOptions ResponsesOptions(const TranslatorOptions& options) {
    return {options.model, options.custom_tools, options.max_output_bytes};
}

std::string ChatToResponse(std::string_view body, const TranslatorOptions& options) {
    return ChatToResponseBody(body, ResponsesOptions(options));
}

}  // namespace

std::unique_ptr<ResponseObserver> MakeTranslator(core::Dialect upstream, core::Dialect client,
                                                 TranslatorOptions options) {
    using core::Dialect;
    if (upstream == Dialect::kOpenAIChat && client == Dialect::kAnthropic) {
        return std::make_unique<Translator<ChatToMessagesStream, &ChatToMessage, &ErrorToAnthropic, false>>(
            ChatToMessagesStream(options.model), std::move(options));
    }
    if (upstream == Dialect::kAnthropic && client == Dialect::kOpenAIChat) {
        return std::make_unique<Translator<MessagesToChatStream, &MessageToChat, &ErrorToOpenAI, true>>(
            MessagesToChatStream(options.model, options.include_usage), std::move(options));
    }
    if (upstream == Dialect::kOpenAIChat && client == Dialect::kOpenAIResponses) {
        return std::make_unique<Translator<ChatToResponsesStream, &ChatToResponse, &ErrorToOpenAI, true>>(
            ChatToResponsesStream(ResponsesOptions(options)), std::move(options));
    }
    if (upstream == Dialect::kAnthropic && client == Dialect::kOpenAIResponses) {
        // The chat stream in between carries usage: the Responses side needs it.
        TranslatorOptions to_chat = options;
        to_chat.include_usage = true;
        auto first = MakeTranslator(Dialect::kAnthropic, Dialect::kOpenAIChat, std::move(to_chat));
        auto second = MakeTranslator(Dialect::kOpenAIChat, Dialect::kOpenAIResponses, std::move(options));
        return std::make_unique<Composed>(std::move(first), std::move(second));
    }
    return nullptr;
}

}  // namespace llmproxy::providers::translate
