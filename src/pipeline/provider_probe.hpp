#pragma once
// One health check of a provider (GET its health_check.path with its credentials), and a round
// of them over every provider for /health/detailed?probe=true.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/asio_types.hpp"
#include "pipeline/snapshot.hpp"
#include "proxy/health_report.hpp"

namespace llmproxy::pipeline {

/// True when the provider answered 2xx within its health_check.timeout; else `why` says why.
Task<bool> CheckProvider(const Snapshot& snapshot, std::size_t provider, std::string& why);

/// Checks every provider now, at most kProbeConcurrency at a time, giving up on stragglers
/// after kProbeBudget.
Task<std::vector<proxy::ProbeResult>> ProbeAllProviders(std::shared_ptr<const Snapshot> snapshot);
inline constexpr std::size_t kProbeConcurrency = 8;
inline constexpr std::chrono::milliseconds kProbeBudget{5000};

}  // namespace llmproxy::pipeline
