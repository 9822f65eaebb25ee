#pragma once
// Reads an upstream's token usage as the response passes: from the usage of stream events
// (OpenAI chunks, Anthropic message_start and message_delta, merged), or from a whole JSON body (kept up to a cap,
// since usage comes at its end). When the gateway injected stream_options.include_usage that the client did not ask
// for, it also hides what that changed: the usage-only chunk and the "usage":null members.
#include <optional>
#include <string>

#include "core/string_pool.hpp"
#include "providers/response_observer.hpp"
#include "usage/usage.hpp"

namespace llmproxy::providers::openai {

class UsageObserver final : public providers::ResponseObserver {
public:
    static constexpr std::size_t kMaxBody = 4u << 20;

    explicit UsageObserver(bool strip_injected_usage) : strip_(strip_injected_usage) {}
    ~UsageObserver() override {
        core::GiveBack(std::move(body_));
        core::GiveBack(std::move(filtered_));
    }

    void OnHead(providers::ResponseHead& head) override { head_ = head; }
    std::string_view OnEvents(std::string_view events) override;
    void OnBody(std::string_view piece) override;
    void OnEnd(bool complete) override;

    const std::optional<usage::Usage>& usage() const { return usage_; }
    /// A non-stream JSON body as relayed (empty past kMaxBody): for counting when no usage came.
    const std::string& body() const { return body_; }

private:
    void Merge(const usage::UsageReport& report);

    bool strip_;
    providers::ResponseHead head_;
    std::optional<usage::Usage> usage_;
    std::string body_;
    std::string filtered_;
    std::string scratch_;  // an event's data when it spans several lines
    bool body_overflow_ = false;
};

}  // namespace llmproxy::providers::openai
