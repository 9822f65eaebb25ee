#pragma once
// Completion handler for co_spawn roots: a coroutine that ends with an exception is logged (with
// what it was doing), never rethrown into io_context::run() where it would stop the thread.
#include <exception>
#include <spdlog/spdlog.h>

namespace llmproxy {

struct LogOnException {
    const char* what;  // e.g. "accept loop" (a string literal)
    void operator()(std::exception_ptr e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{} ended with an exception: {}", what, ex.what());
        } catch (...) {
            spdlog::error("{} ended with an unknown exception", what);
        }
    }
};

}  // namespace llmproxy
