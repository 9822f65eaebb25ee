#pragma once
// The request head sent upstream: the client's end-to-end headers minus the gateway's own and
// the client's credentials, then what the provider and its adapter add (credentials, configured
// headers), our request id and trace context, and the framing of the body we send.
#include <string>

#include "stages/forward/relay.hpp"

namespace llmproxy::stages {

std::string BuildUpstreamHead(const ForwardInput& in);

}  // namespace llmproxy::stages
