#include "pipeline/control_channel.hpp"
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"

namespace llmproxy::pipeline {

Task<void> AnswerOnControlThread(RequestContext& ctx, Runtime& rt) {
    if (!rt.control) {
        ctx.Refuse(core::LocalReply{
            503, "api_error", "control_plane_unavailable", "The admin API is not available in this process.", {}, {}});
        co_return;
    }
    auto& req = ctx.request();
    const std::string_view target(req.target().data(), req.target().size());
    const auto q = target.find('?');
    ControlRequest call;
    call.row = ctx.endpoint;
    call.method = req.method();
    call.param = std::string(ctx.path_param);
    call.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    call.body = std::move(req.body());
    call.actor = std::string(ctx.client_ip);
    call.request_id = ctx.request_id;
    ControlReply reply = co_await rt.control->Call(std::move(call));
    ctx.Answer(reply.status, std::move(reply.body));
}

}  // namespace llmproxy::pipeline
