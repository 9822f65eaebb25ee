// The pipeline's stages and its Finish step, each against a fake runtime (a metrics shard and
// nothing else: no worker, no sockets).
#include <gtest/gtest.h>

#include <cstring>

#include <boost/asio/write.hpp>

#include "pipeline/finish.hpp"
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"
#include "stages/stages.hpp"

using namespace llmproxy;
using namespace llmproxy::pipeline;
using namespace llmproxy::stages;

namespace {

const char* kConfig = R"(
providers:
  - { name: a, base_url: "http://127.0.0.1:1/v1", models: ["gpt-4o", "gpt-4o-mini"] }
auth:
  keys:
    - { key: sk-test-one-000000000, name: one, allowed_models: ["gpt-4o"],
        rate_limit: { requests_per_minute: 2, max_concurrent: 1 } }
)";

struct Fixture {
    explicit Fixture(const char* yaml = kConfig) : metrics(1) {
        auto loaded = core::LoadConfigString(yaml, "t.yaml");
        EXPECT_TRUE(loaded.errors.empty()) << (loaded.errors.empty() ? "" : loaded.errors[0]);
        auto up = std::make_shared<Upstreams>();
        up->snapshot = std::make_shared<const Snapshot>(loaded.config);
        upstreams = up;
        keys = proxy::BuildKeySet(*loaded.config, {}, nullptr);
        rt.metrics = &metrics;
        rt.metric_shards = &shards;
        shards.push_back(&metrics);
    }
    observe::MetricsShard metrics;
    std::vector<const observe::MetricsShard*> shards;
    std::shared_ptr<const Upstreams> upstreams;  // the snapshot; no pools (nothing is forwarded)
    std::shared_ptr<const proxy::KeySet> keys;
    Runtime rt;
};

// A request as the session hands it over: head parsed, body (if any) read.
struct Request {
    Request(const Fixture& f, const std::string& raw) {
        parser.body_limit(1 << 20);
        boost::system::error_code ec;
        parser.eager(true);
        parser.put(boost::asio::buffer(raw), ec);
        EXPECT_FALSE(ec) << ec.message();
        ctx = std::make_unique<RequestContext>(f.upstreams, parser, "127.0.0.1");
        ctx->keys = f.keys;
        ctx->request_id = llmproxy::core::RequestId("req-1");
    }
    RequestParser parser;
    std::unique_ptr<RequestContext> ctx;
};

std::string Post(std::string_view path, std::string_view body, std::string_view key = "sk-test-one-000000000") {
    std::string r = "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    if (!key.empty()) r += "Authorization: Bearer " + std::string(key) + "\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    return r;
}

const char* kChat = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";

}  // namespace

TEST(EndpointStage, UnknownPathAndMethodsFromTheTable) {
    Fixture f;
    Request unknown(f, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(EndpointStage::Run(*unknown.ctx));
    EXPECT_EQ(unknown.ctx->error->status, 404u);

    Request get_chat(f, "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(EndpointStage::Run(*get_chat.ctx));
    EXPECT_EQ(get_chat.ctx->error->status, 405u);
    EXPECT_EQ(get_chat.ctx->error->allow, "POST");

    // /v1/responses takes POST, and GET for its WebSocket (426 without the upgrade, in its stage).
    Request get_responses(f, "GET /v1/responses HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(EndpointStage::Run(*get_responses.ctx));
    EXPECT_EQ(get_responses.ctx->endpoint->endpoint, Endpoint::kResponses);
    Request delete_responses(f, "DELETE /v1/responses HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(EndpointStage::Run(*delete_responses.ctx));
    EXPECT_EQ(delete_responses.ctx->error->allow, "GET, POST");
    // ...while /v1/responses/{id} passes through.
    Request get_one(f, "GET /v1/responses/resp_1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(EndpointStage::Run(*get_one.ctx));
    EXPECT_EQ(get_one.ctx->endpoint->endpoint, Endpoint::kOtherV1);
}

TEST(AuthStage, RefusesOnTheHeadAndPinsTheKey) {
    Fixture f;
    Request keyless(f, Post("/v1/chat/completions", kChat, ""));
    ASSERT_TRUE(EndpointStage::Run(*keyless.ctx));
    EXPECT_FALSE(AuthStage::Run(*keyless.ctx, 1'700'000'000));
    EXPECT_EQ(keyless.ctx->error->status, 401u);

    Request good(f, Post("/v1/chat/completions", kChat));
    ASSERT_TRUE(EndpointStage::Run(*good.ctx));
    ASSERT_TRUE(AuthStage::Run(*good.ctx, 1'700'000'000));
    ASSERT_NE(good.ctx->key, nullptr);
    EXPECT_EQ(good.ctx->key->config.name, "one");

    // Health needs no key.
    Request health(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(EndpointStage::Run(*health.ctx));
    EXPECT_TRUE(AuthStage::Run(*health.ctx, 1'700'000'000));
}

TEST(ParseAndRouteStages, RequiredFieldsModelsAndPermissions) {
    Fixture f;
    auto run = [&](Request& r) {
        return EndpointStage::Run(*r.ctx) && AuthStage::Run(*r.ctx, 1'700'000'000) && ParseStage::Run(*r.ctx) &&
               RouteStage::Run(*r.ctx);
    };
    Request bad_json(f, Post("/v1/chat/completions", "{\"model\":"));
    EXPECT_FALSE(run(bad_json));
    EXPECT_EQ(bad_json.ctx->error->code, "invalid_json");

    Request no_messages(f, Post("/v1/chat/completions", R"({"model":"gpt-4o"})"));
    EXPECT_FALSE(run(no_messages));
    EXPECT_EQ(no_messages.ctx->error->param, "messages");

    Request unknown_model(f, Post("/v1/chat/completions", R"({"model":"nope","messages":[]})"));
    EXPECT_FALSE(run(unknown_model));
    EXPECT_EQ(unknown_model.ctx->error->status, 404u);

    Request not_allowed(f, Post("/v1/chat/completions", R"({"model":"gpt-4o-mini","messages":[]})"));
    EXPECT_FALSE(run(not_allowed));
    EXPECT_EQ(not_allowed.ctx->error->status, 403u);

    Request ok(f, Post("/v1/chat/completions?x=1", kChat));
    ASSERT_TRUE(run(ok));
    EXPECT_EQ(ok.ctx->routed.public_model, "gpt-4o");
    EXPECT_EQ(ok.ctx->routed.path_suffix, "/chat/completions?x=1");
    EXPECT_NE(ok.ctx->routed.route, nullptr);
}

TEST(LimitsStage, RefusesPastTheLimitAndReleasesSlotsWhenTheRequestEnds) {
    Fixture f;
    auto admit = [&](Request& r) {
        return EndpointStage::Run(*r.ctx) && AuthStage::Run(*r.ctx, 1'700'000'000) && ParseStage::Run(*r.ctx) &&
               RouteStage::Run(*r.ctx) && LimitsStage::Run(*r.ctx, f.rt, 1'000'000'000, 1'700'000'000);
    };
    auto first = std::make_unique<Request>(f, Post("/v1/chat/completions", kChat));
    ASSERT_TRUE(admit(*first));
    // max_concurrent 1: a second request while the first runs is refused...
    Request second(f, Post("/v1/chat/completions", kChat));
    EXPECT_FALSE(admit(second));
    EXPECT_EQ(second.ctx->error->status, 429u);
    EXPECT_EQ(f.metrics.rate_limited(static_cast<std::size_t>(proxy::LimitReason::kKeyConcurrency)), 1u);
    // ...and admitted once the first one's context is gone (its slot is released by RAII).
    first.reset();
    Request third(f, Post("/v1/chat/completions", kChat));
    EXPECT_TRUE(admit(third));
    third.ctx.reset();
    // requests_per_minute 2: the fourth within the minute is refused with Retry-After.
    Request fourth(f, Post("/v1/chat/completions", kChat));
    EXPECT_FALSE(admit(fourth));
    EXPECT_NE(fourth.ctx->answer_headers.find("Retry-After"), std::string::npos);
}

TEST(Finish, OneRecordFeedsMetricsAndTheKeysQuota) {
    Fixture f(R"(
providers: [ { name: a, base_url: "http://127.0.0.1:1/v1" } ]
auth:
  keys:
    - { key: sk-test-quota-0000000, name: q, total_quota: 1000, quota_reset_period: never }
)");
    auto run = [&](Request& r) {
        return EndpointStage::Run(*r.ctx) && AuthStage::Run(*r.ctx, 1'700'000'000) && ParseStage::Run(*r.ctx) &&
               RouteStage::Run(*r.ctx) && LimitsStage::Run(*r.ctx, f.rt, 1'000'000'000, 1'700'000'000);
    };
    {
        Request r(f, Post("/v1/chat/completions", kChat, "sk-test-quota-0000000"));
        ASSERT_TRUE(run(r));
        r.ctx->record.status = 200;
        r.ctx->record.provider = "a";
        r.ctx->record.usage = usage::Usage{.prompt_tokens = 600, .completion_tokens = 500, .total_tokens = 1100};
        Finish(*r.ctx, f.rt);
    }
    std::vector<observe::MetricsShard::SeriesView> series;
    f.metrics.Collect(series);
    ASSERT_EQ(series.size(), 1u);
    EXPECT_EQ(series[0].status, 200u);
    EXPECT_EQ(series[0].model, "gpt-4o");
    EXPECT_EQ(series[0].endpoint, "/v1/chat/completions");
    std::vector<observe::MetricsShard::TokenView> tokens;
    f.metrics.CollectTokens(tokens);
    ASSERT_EQ(tokens.size(), 1u);
    EXPECT_EQ(tokens[0].completion, 500u);
    EXPECT_EQ(f.metrics.active(), 0);
    // 1100 of the 1000-token quota are used: the next request is refused.
    Request next(f, Post("/v1/chat/completions", kChat, "sk-test-quota-0000000"));
    EXPECT_FALSE(run(next));
    EXPECT_EQ(next.ctx->error->code, "insufficient_quota");
}

namespace {

struct BodyRun {
    bool passed = false;
    std::optional<core::LocalReply> error;
    std::string answer_headers, body;
    unsigned status = 0;
    bool client_gone = false;
    std::size_t held_during = 0;  // the budget's use while the context lived
};

// The body stage on the server side of a loopback connection: the client sends `raw` (then
// closes when `hang_up`), the head is read as the session reads it, then BodyStage::Run.
BodyRun RunBodyStage(const Fixture& f, const std::string& raw, BodyBudget& budget, bool hang_up) {
    asio::io_context ioc;
    Acceptor listener(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    BodyRun out;
    asio::co_spawn(
        ioc,
        [&]() -> Task<void> {
            Socket s(ioc.get_executor());
            co_await s.async_connect(listener.local_endpoint(), kNoThrow);
            co_await asio::async_write(s, asio::buffer(raw), kNoThrow);
            if (hang_up) {
                error_code ignored;
                s.close(ignored);
                co_return;
            }
            char sink[256];
            co_await s.async_read_some(asio::buffer(sink), kNoThrow);  // until the server is done
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> Task<void> {
            auto [aec, socket] = co_await listener.async_accept(kNoThrow);
            TcpStream stream(std::move(socket));
            beast::flat_buffer buffer;
            RequestParser parser;
            parser.body_limit(1 << 20);
            co_await http::async_read_header(stream, buffer, parser, kNoThrow);
            Runtime rt = f.rt;
            rt.body_budget = &budget;
            {
                RequestContext ctx(f.upstreams, parser, "127.0.0.1");
                out.passed = co_await BodyStage::Run(ctx, stream, buffer, rt);
                out.error = ctx.error;
                out.answer_headers = ctx.answer_headers;
                out.status = ctx.record.status;
                out.client_gone = ctx.client_gone;
                out.body = parser.get().body();
                out.held_during = budget.used();
            }
            stream.close();
        },
        asio::detached);
    ioc.run_for(std::chrono::seconds(5));
    return out;
}

}  // namespace

TEST(BodyStage, ReadsTheBodyWithinTheBudgetAndGivesItBack) {
    Fixture f;
    BodyBudget budget(1 << 20);
    const BodyRun run = RunBodyStage(f, Post("/v1/chat/completions", kChat), budget, false);
    EXPECT_TRUE(run.passed);
    EXPECT_EQ(run.body, kChat);
    EXPECT_GE(run.held_during, std::strlen(kChat));  // charged while the request lived...
    EXPECT_EQ(budget.used(), 0u);                    // ...and given back when it ended
}

TEST(BodyStage, RefusesWithRetryAfterWhenTheBudgetIsSpent) {
    Fixture f;
    BodyBudget budget(1 << 20);
    ASSERT_TRUE(budget.TryTake((1 << 20) - 10));  // other requests hold nearly all of it
    const BodyRun run = RunBodyStage(f, Post("/v1/chat/completions", kChat), budget, false);
    EXPECT_FALSE(run.passed);
    ASSERT_TRUE(run.error);
    EXPECT_EQ(run.error->status, 503);
    EXPECT_EQ(run.error->code, "server_busy");
    EXPECT_EQ(run.answer_headers, "Retry-After: 1\r\n");
    EXPECT_EQ(budget.used(), (1u << 20) - 10);  // nothing of this request stays charged
}

TEST(BodyStage, AnAnnouncedLengthIsChargedOnlyAsItsBytesArrive) {
    // Hardening #14.2: the announced length used to be charged before a byte arrived.
    Fixture f;
    BodyBudget budget(1 << 20);
    std::string raw =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 900000\r\n\r\n{\"model\":\"gpt-4o\"";
    const BodyRun run = RunBodyStage(f, raw, budget, true);  // 900 KB announced, 16 bytes sent
    EXPECT_FALSE(run.passed);
    EXPECT_TRUE(run.client_gone);
    EXPECT_LT(run.held_during, 1024u);  // what came, not what was announced
    EXPECT_EQ(budget.used(), 0u);
}

TEST(BodyBudget, TheLastEighthIsKeptForSmallBodies) {
    BodyBudget budget(8 << 20);
    BodyHold large;
    EXPECT_TRUE(large.Take(budget, 6 << 20));
    EXPECT_TRUE(large.Take(budget, 1 << 20));   // 7 MiB: up to the reserve
    EXPECT_FALSE(large.Take(budget, 1 << 10));  // a large body cannot take the reserve...
    EXPECT_EQ(large.bytes(), 7u << 20);
    BodyHold small;
    EXPECT_TRUE(small.Take(budget, 512 << 10));  // ...a small one can
    EXPECT_TRUE(small.Take(budget, 512 << 10));
    EXPECT_FALSE(small.Take(budget, 1));  // no longer small (and the budget is spent)
}

TEST(BodyStage, AClientThatLeavesMidBodyIsRecordedAs499) {
    Fixture f;
    BodyBudget budget(1 << 20);
    std::string raw = Post("/v1/chat/completions", kChat);
    raw.resize(raw.size() - 10);  // the last bytes never come
    const BodyRun run = RunBodyStage(f, raw, budget, true);
    EXPECT_FALSE(run.passed);
    EXPECT_FALSE(run.error);
    EXPECT_TRUE(run.client_gone);
    EXPECT_EQ(run.status, 499u);
    EXPECT_EQ(budget.used(), 0u);
}
