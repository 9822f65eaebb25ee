#include "stages/stages.hpp"

namespace llmproxy::stages {

Task<bool> BodyStage::Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    const auto& server = ctx.config().server;
    const error_code ec = co_await ReadRequestBody(client, buffer, ctx.parser, server, *rt.body_budget, ctx.body_hold);
    if (!ec) co_return true;
    ctx.keep_alive = false;
    if (auto reply = ReadErrorReply(ec, server)) {
        std::string headers = ec == BodyBudgetExhausted() ? "Retry-After: 1\r\n" : "";
        ctx.Refuse(std::move(*reply), std::move(headers));
    } else {
        ctx.record.status = 499;  // the client left while sending
        ctx.client_gone = true;
    }
    co_return false;
}

}  // namespace llmproxy::stages
