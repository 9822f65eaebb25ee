#pragma once
// The store's schema, as numbered steps with their undo. The gateway migrates up at start;
// `llm-proxy migrate status|version|up|down` does it by hand (the Python llm-proxy service's
// operators ran `db_migrate.sh up|version|down`).
#include <string>
#include <vector>

#include "store/sql_connection.hpp"

namespace llmproxy::store {

/// Number of steps this build knows: the schema version it migrates up to.
int LatestSchemaVersion();
/// The version the database is at (0: empty). Creates the bookkeeping table if missing.
int SchemaVersion(SqlConnection& sql);
/// Applies (or undoes) steps until the database is at `target`, each in one transaction, and
/// returns the version reached. Throws SqlError; a failed step leaves the previous version.
/// Instances starting together against one PostgreSQL migrate once (the table is locked).
int MigrateTo(SqlConnection& sql, int target);
/// What step `version` does, in one line (for `migrate status`).
std::string DescribeStep(int version);

}  // namespace llmproxy::store
