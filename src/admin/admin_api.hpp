#pragma once
// The admin API: its endpoint rows (added to the process's endpoint table at start) and the
// control channel that runs each call on the control thread. Workers only hand calls over;
// every store read, write and config publish happens here, on the control thread.
#include <mutex>
#include <span>

#include "admin/reply.hpp"
#include "pipeline/endpoints.hpp"

namespace llmproxy::admin {

/// /admin/v1/... and the /config aliases, all answered on the control thread.
std::span<const pipeline::EndpointSpec> AdminEndpoints();

class AdminApi final : public pipeline::ControlChannel {
public:
    /// `control` is the control thread's context (it runs the calls).
    AdminApi(asio::io_context& control, AdminContext context) : control_(control), context_(context) {}

    Task<ControlReply> Call(ControlRequest request) override;

    /// From now on calls are answered 503 at once. Calls already handed over still run on the
    /// control thread's next poll: stop workers only after it.
    void Close();

    /// Runs one call (on the control thread).
    ControlReply Handle(const ControlRequest& request);

private:
    asio::io_context& control_;
    AdminContext context_;
    std::mutex mu_;
    bool closed_ = false;
};

}  // namespace llmproxy::admin
