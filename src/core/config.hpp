#pragma once
// The typed, validated configuration. Built once by the loader and then only read:
// workers share it as an immutable snapshot (std::shared_ptr<const Config>).
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llmproxy::core {

using Millis = std::chrono::milliseconds;

struct UpstreamTimeouts {
    Millis connect{5'000};       // TCP connect + TLS handshake
    Millis first_byte{120'000};  // request sent -> response head received
    Millis idle{120'000};        // between two body reads (stream chunks)
    Millis total{600'000};       // whole exchange
    bool operator==(const UpstreamTimeouts&) const = default;
};

struct HealthCheckConfig {
    bool enabled = false;
    std::string path = "/health";  // absolute path on the provider host
    Millis interval{10'000};
    Millis timeout{2'000};
    int healthy_threshold = 1;    // consecutive successes to mark healthy
    int unhealthy_threshold = 2;  // consecutive failures to mark unhealthy
};

struct CircuitBreakerConfig {
    int failure_threshold = 5;     // consecutive failures (connect, timeout, 5xx) that eject
    Millis base_ejection{10'000};  // first ejection; doubles on each repeated ejection
    Millis max_ejection{300'000};
    bool operator==(const CircuitBreakerConfig&) const = default;
};

struct ProviderConfig {
    std::string name;
    std::string origin = "file";  // file | store (written through the admin API)
    std::int64_t store_id = 0;    // the store row's id (the admin API's numeric id); 0: from the file
    std::string type = "openai";
    std::string base_url;
    // Derived from base_url.
    bool tls = false;
    std::string host;
    std::string port;
    std::string base_path;  // e.g. "/v1"; upstream path = base_path + client path minus "/v1"
    std::string host_header;

    std::string api_key;  // secret: never logged
    int weight = 1;
    std::vector<std::string> models{"*"};                      // public names or globs it serves
    std::map<std::string, std::string> model_map;              // public name -> upstream name
    std::vector<std::pair<std::string, std::string>> headers;  // extra upstream headers
    // Clients' OpenAI-Organization / OpenAI-Project headers go upstream beside this provider's
    // key only when set (they would pick another organization or project of its account).
    bool forward_account_headers = false;
    UpstreamTimeouts timeouts;
    // Open upstream connections per instance, divided across workers; 0 (the default): as many
    // as the process's file descriptor limit leaves room for (each relayed request also holds
    // a client connection), so a large vendor is never limited by the gateway's pool.
    int max_connections = 0;
    // How long a request waits for a connection when the cap is reached, then 503
    // upstream_pool_exhausted.
    Millis pool_timeout{5'000};
    Millis keepalive_idle{60'000};
    bool tls_verify = true;
    std::string ca_file;
    // Ask streams for usage (stream_options.include_usage) even when the client did not, and
    // hide that extra chunk from the client. Off for servers that reject the field.
    bool stream_usage = true;
    // OpenAI-compatible servers that also serve Anthropic's /v1/messages (vLLM, Ollama): Anthropic
    // clients pass through natively instead of being translated to chat completions.
    bool native_messages = false;
    // Servers that serve OpenAI's /v1/responses themselves (OpenAI, OpenRouter, Moonshot): a
    // Responses client passes through instead of being translated to chat completions.
    bool native_responses = false;
    std::string preset;  // the vendor preset its defaults came from (core/vendor_presets.hpp), if any
    // Request fields this upstream rejects: removed ("a", "a.b", "a[].b") or renamed before a
    // request is sent (the body is then re-serialized; without these it passes byte for byte).
    std::vector<std::string> drop_params;
    std::vector<std::pair<std::string, std::string>> rename_params;
    bool fix_tool_call_index = false;              // give streamed tool-call deltas the `index` OpenAI clients need
    bool normalize_errors = false;                 // rewrite error bodies into OpenAI's {"error":{...}} shape
    std::string anthropic_version = "2023-06-01";  // sent when the client sent none (type: anthropic)
    // anthropic-beta values this upstream accepts (names or globs: "prompt-caching-*"); empty: all pass.
    std::vector<std::string> anthropic_betas;
    int max_output_tokens = 0;       // > 0: max_tokens is clamped to it when translating
    int default_max_tokens = 4096;   // when a translated request to Anthropic names none
    HealthCheckConfig health_check;  // from the provider, else the top-level health_check
    CircuitBreakerConfig circuit_breaker;
};

// Providers that serve models by glob ("*", "gpt-*"): the route table builds a route for every
// subset of them up front (2^n - 1), so their number is capped; the others list exact names.
inline constexpr std::size_t kMaxGlobProviders = 10;

struct ServerConfig {
    std::string listen = "0.0.0.0:8080";
    std::string listen_host = "0.0.0.0";
    uint16_t listen_port = 8080;
    int workers = 0;  // 0 = number of cores
    std::size_t max_body_bytes = 32u << 20;
    // Request bodies held at once by the whole process (shared out among workers); beyond it a
    // request gets 503 server_busy before its body is read.
    std::size_t max_body_memory = 256u << 20;
    std::size_t max_header_bytes = 16u << 10;
    // A non-stream answer translated between dialects is read whole before it is rewritten: up
    // to this size (beyond it, 502 upstream_protocol_error). Streams are translated event by event.
    std::size_t max_translated_body = 16u << 20;
    // GET /v1/responses with Upgrade: websocket (Codex's first choice) is served; off: 426, and
    // clients fall back to POST at once.
    bool responses_websocket = true;
    // Client connections the process keeps open; at the cap the accepting worker's longest-idle
    // connection is closed for a new one, or the new one gets 503 if none is idle.
    // 0: what the file-descriptor limit leaves room for.
    int max_connections = 0;
    Millis header_timeout{10'000};             // first byte of a request -> full header (slowloris)
    Millis body_timeout{60'000};               // header -> full body
    Millis idle_timeout{75'000};               // keep-alive wait for the next request; also client write stall
    Millis drain_timeout{30'000};              // graceful shutdown
    std::string admin_key;                     // secret: used by the admin API (later)
    std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For is believed
};

struct RetryConfig {
    int max_retries = 2;  // attempts after the first
    Millis initial_wait{100};
    Millis max_wait{2'000};
    double multiplier = 2.0;
    double jitter = 0.2;  // +-20% of each wait
    // connect_error, timeout, 429, 500, 502, 503, 504
    bool on_connect_error = true, on_timeout = true;
    std::vector<int> on_status{429, 500, 502, 503, 504};
    double budget_ratio = 0.2;       // retries may add at most this fraction of requests...
    int budget_min_per_second = 10;  // ...plus this many per second (per worker)
};

struct ProviderFallback {
    std::string primary;
    std::vector<std::string> fallback;  // provider names, tried in order
};

/// One upstream of a public model named in routing.models: which provider serves it, under
/// which name, with what share of the traffic.
struct RouteTarget {
    std::string provider;
    std::string model;  // the name sent upstream; empty: the public name
    int weight = 1;
    bool operator==(const RouteTarget&) const = default;
};

struct ModelRouting {
    std::string strategy;                      // empty: routing.strategy
    std::vector<std::string> fallback_models;  // tried when every target of the model failed
    // Set: exactly these serve the model (the providers' `models` lists are not consulted).
    std::vector<RouteTarget> targets;
    // A stored route whose every target's provider is disabled: the model is not served (rather
    // than falling through to the providers' `models` globs) until one is enabled again.
    bool targets_disabled = false;
    std::string origin = "file";  // file | store (written through the admin API)
};

struct RoutingConfig {
    std::string strategy = "weighted_round_robin";
    std::string strip_prefix;
    std::string default_model;
    RetryConfig retry;
    std::vector<ProviderFallback> fallback;
    std::map<std::string, ModelRouting> models;  // per public model overrides
    Millis max_request_timeout{600'000};         // cap for the x-llm-proxy-timeout header
};

/// Per-key limits; a negative value means "not set" (then key_defaults, then unlimited; 0 also
/// means unlimited).
struct KeyLimits {
    double requests_per_second = -1;
    double requests_per_minute = -1;
    double tokens_per_minute = -1;
    int max_concurrent = -1;
    // A credential of the Python llm-proxy with `rate_limit: 0`: every request is refused with
    // 429 (there, 0 means "blocked", where requests_per_second 0 means "unlimited").
    bool blocked = false;
};

struct RateLimitConfig {
    std::string storage = "memory";  // memory (per instance) | redis (shared by instances)
    bool fail_open = true;           // redis unreachable: admit (fail_open) or answer 503 (fail_closed)
    // Redis storage: a busy key takes this much of its rate (at most a tenth of its burst) per
    // round trip and admits from that lease locally. 0: one round trip per request.
    Millis redis_lease_window{5};
    double global_requests_per_second = 0;  // 0 = unlimited
    double global_burst = 0;                // 0 = requests_per_second
    int global_max_concurrent = 0;
    KeyLimits key_defaults;
};

/// Quota windows start at UTC boundaries: midnight, Monday midnight, the 1st of the month.
enum class QuotaPeriod { kNever, kDaily, kWeekly, kMonthly };

struct ApiKeyConfig {
    std::string name;
    std::string user_id;
    std::array<unsigned char, 32> hash{};          // SHA-256 of the key; the key itself is not kept
    std::string key_hint;                          // "sk-...abcd" for logs (last 4 characters only)
    bool active = true;                            // status: active | disabled
    std::vector<std::string> allowed_models{"*"};  // globs
    std::vector<std::string> allowed_ips;          // CIDRs; empty = any
    // Pass-through paths (/v1/files, /v1/batches, ...: the provider's account, shared by every
    // key): "PATH_GLOB" (any method but DELETE) or "METHOD PATH_GLOB" ("*" for any method).
    // Unset: every path but DELETE for keys without model limits, none for keys with them.
    std::optional<std::vector<std::string>> allowed_endpoints;
    std::int64_t expires_at = 0;  // unix seconds; 0 = never
    std::map<std::string, std::string> metadata;
    KeyLimits limits;              // merged with rate_limit.key_defaults at load
    std::int64_t total_quota = 0;  // tokens per quota period; 0 = no quota
    QuotaPeriod quota_period = QuotaPeriod::kNever;
};

/// An allowed_endpoints entry: "PATH_GLOB" or "METHOD PATH_GLOB", the glob under /v1/.
bool ValidEndpointGrant(std::string_view grant);

/// One Lua script: a `scripts.<point>`, a `hooks.<hook>` or an `auth.pipeline[]` lua entry.
struct ScriptConfig {
    bool enabled = false;
    std::string name;  // "scripts.routing", "hooks.on_request": in logs and metrics
    std::string code;  // inline, or read from `file` at load
    std::string file;  // where `code` came from ("" = inline)
    Millis timeout{100};
    std::size_t max_memory = 10u << 20;  // the worker's Lua state is capped at the largest of these
    bool fail_open = false;              // on_error: a script that fails lets the request pass
    bool rewrite = false;                // on_chunk only: may replace events (slower)
    bool operator==(const ScriptConfig&) const = default;
};

/// One step of `auth.pipeline` (the Go LLMProxy's auth pipeline): `builtin` is the key store
/// (auth.keys and stored keys), `lua` a script that decides (lua.path | lua.script), `redis`
/// keys kept in Redis by another system (a hash, or a JSON string, at key_pattern).
enum class AuthStepType { kBuiltin, kLua, kRedis };

struct AuthPipelineEntry {
    std::string name;
    AuthStepType type = AuthStepType::kBuiltin;
    ScriptConfig script;  // lua entries
    // redis entries: where the record is ({api_key} is the presented key) and how long a worker
    // keeps what it read (a record changed in Redis is seen within cache_ttl; 0 = every request).
    std::string key_pattern = "llmproxy:key:{api_key}";
    Millis cache_ttl{5'000};
    bool lua() const { return type == AuthStepType::kLua; }
    bool redis() const { return type == AuthStepType::kRedis; }
    bool operator==(const AuthPipelineEntry&) const = default;
};

struct AuthConfig {
    bool enabled = false;  // true as soon as keys (or a pipeline) are configured, unless set explicitly
    std::vector<ApiKeyConfig> keys;
    // Empty: the key store alone. first_match: the first step that knows the key decides (a lua
    // step knows every key); all: every step must allow.
    std::vector<AuthPipelineEntry> pipeline;
    bool pipeline_all = false;
};

struct UsageHookConfig {
    bool enabled = false;
    std::string url;
    // Derived from url.
    bool tls = false;
    std::string host, port, path, host_header;
    Millis timeout{1'000};
    int retry = 2;          // extra attempts per batch before it goes to the spool
    Millis backoff{1'000};  // pause after a failed delivery
    int batch_size = 1;     // 1: one JSON object per POST; more: a JSON array
    int concurrency = 4;    // POSTs in flight at once (a slow receiver is not waited on one by one)
    std::vector<std::pair<std::string, std::string>> headers;
    std::string secret;  // HMAC-SHA256 key for X-LLM-Proxy-Signature (secret: never logged)
    std::string spool_dir = "llm-proxy-spool";
    bool include_request_body = false;
    std::size_t queue_size = 65536;  // per worker; beyond it events are counted as dropped
};

/// The persistent store: API keys written at run time, quota counters (and later the usage
/// ledger). sqlite://path (embedded) or postgres://... (shared by instances). Empty: none.
struct DatabaseConfig {
    std::string url;
    // How often the gateway looks for key, provider and route changes in the store (the
    // fallback: PostgreSQL notifies every instance at once).
    Millis poll_interval{1'000};
    Millis sync_interval{1'000};  // how often quota counters are written and re-read
    bool usage_ledger = true;     // every usage event as a row in usage_ledger
};

/// Redis for counters shared by instances (rate_limit.storage: redis, quotas).
struct RedisConfig {
    std::string url;  // redis://[:password@]host[:port][/db]
    // Derived from url.
    std::string host, port = "6379", password;
    int db = 0;
    Millis timeout{100};  // a limit check that takes longer counts as Redis unreachable
    Millis connect_timeout{500};
};

/// Local token counting (missing usage, cut streams, TPM estimates, /v1/tokenize).
struct TokenizerConfig {
    std::string data_dir;                          // cl100k_base.json, o200k_base.json; empty: the build's default
    std::string default_encoding = "cl100k_base";  // for models tiktoken does not know
};

/// Per-request records with (optionally) the bodies, for debugging and audits.
struct RequestLogConfig {
    bool enabled = false;
    bool include_bodies = false;
    std::size_t max_body_bytes = 64u << 10;  // per body, after redaction
    std::vector<std::string> redact_fields{"api_key", "apikey",       "password",      "secret",
                                           "token",   "access_token", "authorization", "client_secret"};
    std::string output = "llm-proxy-requests.log";  // a file path, or "database" (database.url)
};

struct LoggingConfig {
    std::string level = "info";
    std::string access_log = "stdout";  // stdout | stderr | off | a file path
    RequestLogConfig request_log;
};

/// The seven script points the Go LLMProxy documents, plus on_chunk for streams.
struct ScriptsConfig {
    ScriptConfig routing, auth, request_transform, response_transform, rate_limit, usage, error_handler, on_chunk;
    bool operator==(const ScriptsConfig&) const = default;
};

/// A decision asked of an HTTP service (hooks.auth_decision, hooks.routing_decision): the
/// script point's inputs POSTed as JSON, its answer read back, within `timeout`.
struct DecisionWebhookConfig {
    bool enabled = false;
    std::string url;
    bool tls = false;
    std::string host, port, path, host_header;  // from url
    Millis timeout{500};
    int retry = 0;  // extra attempts, each within `timeout`
    // When the service fails or times out: use_default (go on as without it, with a warning),
    // reject (refuse the request, 503) or ignore (go on silently).
    std::string on_failure = "use_default";
    bool operator==(const DecisionWebhookConfig&) const = default;
};

/// The Go LLMProxy's wired lifecycle hooks (`hooks:`), same keys and behaviour.
struct HooksConfig {
    bool enabled = false;
    ScriptConfig on_request, on_auth, on_route, on_response, on_error, on_complete;
    DecisionWebhookConfig auth_decision, routing_decision;
    bool operator==(const HooksConfig&) const = default;
};

/// /metrics: llm-proxy's names, and with compat: llmproxy the Go LLMProxy's as well
/// (llmproxy_requests_total, llmproxy_latency_ms, ...), so its users' dashboards keep working.
struct MetricsConfig {
    bool llmproxy_compat = false;
};

struct Config {
    ServerConfig server;
    std::vector<ProviderConfig> providers;
    RoutingConfig routing;
    AuthConfig auth;
    RateLimitConfig rate_limit;
    UsageHookConfig usage_hook;
    LoggingConfig logging;
    DatabaseConfig database;
    RedisConfig redis;
    TokenizerConfig tokenizer;
    ScriptsConfig scripts;
    HooksConfig hooks;
    MetricsConfig metrics;
};

struct ConfigResult {
    std::shared_ptr<const Config> config;  // null when errors is not empty
    std::vector<std::string> errors;       // "file:line:col: key: what is wrong"
    std::vector<std::string> warnings;
    // Set when the file was another gateway's config, converted at load: "a Go LLMProxy config".
    std::string dialect;
};

ConfigResult LoadConfigFile(const std::string& path);
/// The file's text, or nullopt when it cannot be read.
std::optional<std::string> ReadConfigText(const std::string& path);
ConfigResult LoadConfigString(const std::string& yaml, const std::string& source_name);

/// A config file (another gateway's, or a native one) as native YAML, with a comment on what
/// was not carried over; `yaml` is empty when `result` has errors.
struct ConvertedConfig {
    std::string yaml;
    ConfigResult result;
};
ConvertedConfig ConvertConfigFile(const std::string& path);
ConvertedConfig ConvertConfigText(const std::string& yaml, const std::string& source_name);

}  // namespace llmproxy::core
