#pragma once
// Which providers a request has attempted, by provider index. Inline up to 16 providers: a
// request's attempt bookkeeping then costs no allocation (issue #20); larger configs spill.
#include <boost/container/small_vector.hpp>

namespace llmproxy::proxy {

using TriedProviders = boost::container::small_vector<bool, 16>;

}  // namespace llmproxy::proxy
