#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

// Whether the request goes on once its body is read (or failed to be).
bool BodyRead(RequestContext& ctx, const error_code& ec) {
    if (!ec) return true;
    ctx.keep_alive = false;
    if (auto reply = ReadErrorReply(ec, ctx.config().server)) {
        std::string headers = ec == BodyBudgetExhausted() ? "Retry-After: 1\r\n" : "";
        ctx.Refuse(std::move(*reply), std::move(headers));
    } else {
        ctx.record.status = 499;  // the client left while sending
        ctx.client_gone = true;
    }
    return false;
}

}  // namespace

std::optional<bool> BodyStage::FromBuffer(RequestContext& ctx, beast::flat_buffer& buffer, Runtime& rt) {
    const std::optional<error_code> settled = StartRequestBody(buffer, ctx.parser, *rt.body_budget, ctx.body_hold);
    if (!settled) return std::nullopt;
    return BodyRead(ctx, *settled);
}

Task<bool> BodyStage::ReadRest(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    const error_code ec =
        co_await ContinueRequestBody(client, buffer, ctx.parser, ctx.config().server, *rt.body_budget, ctx.body_hold);
    co_return BodyRead(ctx, ec);
}

Task<bool> BodyStage::Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    if (const std::optional<bool> read = FromBuffer(ctx, buffer, rt)) co_return *read;
    co_return co_await ReadRest(ctx, client, buffer, rt);
}

}  // namespace llmproxy::stages
