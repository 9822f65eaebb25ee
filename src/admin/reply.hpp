#pragma once
// What every admin operation uses to read its request and write its answer: JSON in and out,
// OpenAI-style errors naming the field at fault, the request id in every error.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "control/config_manager.hpp"
#include "control/state_sync.hpp"
#include "pipeline/control_channel.hpp"

namespace llmproxy::admin {

namespace json = boost::json;
using pipeline::ControlReply;
using pipeline::ControlRequest;

/// What operations work with, on the control thread.
struct AdminContext {
    control::ConfigManager& config;
    control::StateSync& keys;
    const proxy::KeyDirectory& key_set;  // the keys serving (for quota use)
};

using AdminOp = ControlReply (*)(AdminContext&, const ControlRequest&);

ControlReply Json(unsigned status, const json::value& body);
ControlReply Error(const ControlRequest& req, unsigned status, std::string_view code, std::string message,
                   std::string_view param = {});
ControlReply NotFound(const ControlRequest& req, std::string_view what);
/// 409: the store is needed for writes (no database.url).
ControlReply NeedsStore(const ControlRequest& req);
/// A config change was refused: 400 with the first reason, the field at fault as `param`.
ControlReply Invalid(const ControlRequest& req, const std::vector<std::string>& errors);

/// The body as a JSON object; nullopt (and `error` set) when it is not one.
std::optional<json::object> BodyObject(const ControlRequest& req, ControlReply& error);
/// The query's parameters, percent-decoded (the last value wins).
std::map<std::string, std::string> QueryParams(const ControlRequest& req);

/// Writes an audit line (log, and the store's audit_log when there is one): who, what, on
/// which object, and which fields; never a value that could be a secret.
void Audit(AdminContext& ctx, const ControlRequest& req, std::string_view action, std::string_view target,
           std::string_view detail);

/// "sk-...abcd" for a secret; "" stays "".
std::string Masked(std::string_view secret);
/// Names or values that may not hold control characters (they reach logs and tables).
bool Printable(std::string_view value);

}  // namespace llmproxy::admin
