#pragma once
// The request log written to the store's request_log table (logging.request_log.output: database).
#include <memory>
#include <string>

#include "core/config.hpp"
#include "observe/request_log.hpp"

namespace llmproxy::store {

/// Throws when the database cannot be opened.
std::unique_ptr<observe::RequestLog> OpenRequestLogTable(const core::RequestLogConfig& config,
                                                         const std::string& database_url, std::size_t workers);

}  // namespace llmproxy::store
