#pragma once
// Everything one request carries through the pipeline. It pins one configuration snapshot and
// one key set for the request's whole life (a reload never shows a request two configs), holds
// what the stages take (body memory, limit slots, in-flight counts) and gives it all back when
// it is destroyed, and collects what the Finish step reports.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/dialect.hpp"
#include "core/error_reply.hpp"
#include "core/request_id.hpp"
#include "http/request_body.hpp"
#include "pipeline/endpoints.hpp"
#include "pipeline/snapshot.hpp"
#include "pipeline/upstreams.hpp"
#include "providers/response_chain.hpp"
#include "proxy/body_scan.hpp"
#include "proxy/key_set.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/route_table.hpp"
#include "store/redis_client.hpp"
#include "usage/usage.hpp"

namespace llmproxy::pipeline {

using Clock = std::chrono::steady_clock;

/// Where the request goes (the route stage's result).
struct RoutedRequest {
    std::string public_model;
    const proxy::Route* route = nullptr;
    bool json = false;
    proxy::BodyInfo body;
    std::string_view path_suffix;  // client target after "/v1" (path + query), in the request's arena
    Clock::time_point deadline = Clock::time_point::max();
    core::Traceparent traceparent;
    std::size_t preferred_provider = SIZE_MAX;  // a routing script's choice, tried first
};

/// A concurrency slot and TPM charge in the shared (Redis) limits: released when destroyed,
/// with the real token count once Finish knows it.
class SharedLimitHold {
public:
    SharedLimitHold() = default;
    SharedLimitHold(const SharedLimitHold&) = delete;
    SharedLimitHold& operator=(const SharedLimitHold&) = delete;
    ~SharedLimitHold();
    void Hold(store::RedisClient& redis, const proxy::KeyEntry& key, std::string member, double tpm_charged);
    void SetActualTokens(std::int64_t tokens) { actual_tokens_ = tokens; }

private:
    store::RedisClient* redis_ = nullptr;
    const proxy::KeyEntry* key_ = nullptr;
    std::string member_;
    double tpm_charged_ = 0;
    std::int64_t actual_tokens_ = -1;
};

/// What the auth pipeline's redis step found for the presented key. Read from Redis (or the
/// worker's cache) just before the auth stage, which does not wait.
struct StoredKeyLookup {
    enum class State { kNotRead, kFound, kAbsent, kStoreDown };
    State state = State::kNotRead;
    std::shared_ptr<const proxy::KeyEntry> key;  // kFound (keeps it alive for the request)
    bool quota_exhausted = false;
    core::KeyHash hash{};  // of the presented key
};

/// What the Finish step reports about how the request ended.
struct RequestRecord {
    unsigned status = 0;
    std::string_view provider = "none";  // the provider that served it (config-owned string)
    std::size_t provider_index = SIZE_MAX;
    std::optional<Clock::time_point> first_event_at;  // streams only
    std::optional<usage::Usage> usage;                // reported by the upstream, else counted by the gateway
    std::string_view upstream_model;                  // the model name sent upstream (config- or request-owned)
    int attempts = 0;
    std::string attempt_log;    // "a:502,b:200": every attempt's provider and outcome
    std::string_view cut;       // the response started but ended early: request_timeout, upstream_idle_timeout, ...
    std::string response_body;  // captured for the request log only (capped)
};

struct RequestContext {
    RequestContext(std::shared_ptr<const Upstreams> up, RequestParser& p, std::string_view ip)
        : upstreams(std::move(up)), snapshot(upstreams->snapshot), parser(p), client_ip(ip) {}

    const Snapshot& snap() const { return *snapshot; }
    const core::Config& config() const { return *snapshot->config; }
    ClientRequest& request() { return parser.get(); }

    // Pinned for the whole request (declared first: destroyed last): the snapshot and this
    // worker's pools and balancers made for it.
    std::shared_ptr<const Upstreams> upstreams;
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const proxy::KeySet> keys;

    RequestParser& parser;
    std::string_view client_ip;
    core::RequestId request_id;
    Clock::time_point started = Clock::now();
    bool keep_alive = false;
    const EndpointSpec* endpoint = nullptr;
    core::Dialect dialect = core::Dialect::kOpenAIChat;  // the client's: every local answer is written in it
    std::string_view path_param;                         // the endpoint row's {…} segment (into the request's target)

    // Learned and held by the stages.
    const proxy::KeyEntry* key = nullptr;  // the caller's key (null when auth is off)
    StoredKeyLookup stored_key;
    BodyHold body_hold;
    proxy::Admission admission;  // local limit slots, until the request ends
    SharedLimitHold shared_limits;
    double estimated_tokens = 0;
    RoutedRequest routed;
    // The response's observers: the forward stage's attempts add theirs, the request's own
    // (capture, scripts) stay for every attempt.
    providers::ResponseChain response_chain;

    // The answer, when a stage gives it locally (the forward stage writes its own).
    std::optional<core::LocalReply> error;
    std::string answer_headers;  // extra header lines of the local answer (Retry-After, Connection)
    unsigned local_status = 0;   // > 0: answer with local_body
    std::string local_body;
    std::string_view content_type = "application/json";
    bool client_gone = false;  // nobody to answer

    RequestRecord record;

    // What scripts added: header lines for the upstream (hooks with modified = true,
    // request_transform) and fields for the usage event (the usage script, JSON members).
    std::vector<std::pair<std::string, std::string>> script_headers;
    std::string script_usage_fields;
    script::ScriptSet* scripts() const { return upstreams->scripts.get(); }

    void Refuse(core::LocalReply reply, std::string headers = {}) {
        error = std::move(reply);
        answer_headers = std::move(headers);
    }
    void Answer(unsigned status, std::string body) {
        local_status = status;
        local_body = std::move(body);
    }
    bool answered() const { return error.has_value() || local_status != 0 || client_gone; }
};

}  // namespace llmproxy::pipeline
