#pragma once
// The OpenAPI 3.1 document, generated from the endpoint table's rows (path, methods, access,
// summary): an endpoint cannot exist without being documented.
#include <string>

#include "pipeline/endpoints.hpp"

namespace llmproxy::pipeline {

std::string BuildOpenApi(const EndpointTable& table, std::string_view version);

}  // namespace llmproxy::pipeline
