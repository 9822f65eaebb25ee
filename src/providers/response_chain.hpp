#pragma once
// The response observers of one request, in the order they see the answer. An attempt's own
// observers come first (its adapter's usage reader, local token counting, a translator between
// dialects: they read the upstream's dialect, the translator turns it into the client's), then
// the request's (capture for the request log, later scripts: they see what the client sees).
// A new attempt replaces the attempt's observers and keeps the request's.
#include <array>
#include <cstddef>
#include <string_view>

#include "providers/response_observer.hpp"

namespace llmproxy::providers {

class ResponseChain {
public:
    static constexpr std::size_t kMax = 6;  // per section

    void BeginAttempt() { attempt_size_ = 0; }
    void AddForAttempt(ResponseObserver& o) {
        if (attempt_size_ < kMax) attempt_[attempt_size_++] = &o;
    }
    void AddForRequest(ResponseObserver& o) {
        if (request_size_ < kMax) request_[request_size_++] = &o;
    }
    bool empty() const { return attempt_size_ + request_size_ == 0; }

    void OnHead(ResponseHead& head) const;
    /// Whole events through every observer in order, each seeing what the previous one relays.
    std::string_view OnEvents(std::string_view events) const;
    /// The stream's last events (possibly none): observers may add what closes the stream.
    std::string_view OnLastEvents(std::string_view events) const;
    /// The stream broke after it started: the in-band error event the client gets.
    std::string_view OnCut(const core::LocalReply& error, std::string_view event) const;
    void OnBody(std::string_view piece) const;
    std::string_view OnWholeBody(std::string_view body) const;
    void OnEnd(bool complete) const;
    /// Each observer sees `events` as they are, its rewrite ignored (a compressed stream is
    /// relayed as it came, and only metered).
    void ShowEvents(std::string_view events) const;

private:
    template <typename F>
    void ForEach(F&& f) const {
        for (std::size_t i = 0; i < attempt_size_; ++i) f(*attempt_[i]);
        for (std::size_t i = 0; i < request_size_; ++i) f(*request_[i]);
    }
    std::array<ResponseObserver*, kMax> attempt_{};
    std::array<ResponseObserver*, kMax> request_{};
    std::size_t attempt_size_ = 0;
    std::size_t request_size_ = 0;
};

}  // namespace llmproxy::providers
