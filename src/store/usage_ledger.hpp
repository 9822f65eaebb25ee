#pragma once
// The usage ledger: every finished request's usage event, as a row in the store
// (usage_ledger), written in batches by a background thread. Usage queries read it.
#include <memory>
#include <string>
#include <vector>

#include "core/batched_writer.hpp"
#include "store/store.hpp"

namespace llmproxy::store {

using UsageLedger = core::BatchedWriter<std::string>;  // records: usage event JSON (see usage_event.hpp)

/// Opens its own connection to `database_url` (the writer thread's alone).
std::unique_ptr<UsageLedger> OpenUsageLedger(const std::string& database_url, std::size_t workers);

/// Turns usage event JSON objects into usage_ledger rows and inserts them (one transaction).
void WriteUsageRows(Store& store, const std::vector<std::string>& events);

}  // namespace llmproxy::store
