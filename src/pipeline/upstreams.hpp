#pragma once
// One worker's objects for one snapshot: a connection pool per provider and a balancer per
// route. When a new snapshot arrives, pools whose provider kept its connection settings and
// balancers whose route kept its targets and strategy are carried over (by provider name), so a
// reload keeps warm connections and round-robin positions; so are the scripts' Lua state. A request pins the Upstreams
// it started with; the pools of a removed provider drain as its last requests end.
#include <memory>
#include <random>
#include <vector>

#include "http/upstream_pool.hpp"
#include "observe/metrics.hpp"
#include "pipeline/snapshot.hpp"
#include "proxy/balancer.hpp"
#include "script/script_set.hpp"

namespace llmproxy::pipeline {

struct Upstreams {
    std::shared_ptr<const Snapshot> snapshot;
    std::vector<std::shared_ptr<upstream::UpstreamPool>> pools;  // per provider of the snapshot
    std::vector<std::shared_ptr<proxy::Balancer>> balancers;     // per route of the snapshot
    // This worker's Lua state with the snapshot's scripts (null: none configured). Carried
    // over while the scripts are unchanged, so `shared` survives unrelated reloads. Used only
    // by this worker's thread.
    std::shared_ptr<script::ScriptSet> scripts;
};

/// `previous` may be null (the first snapshot). `workers`: the pool cap is shared among them.
std::shared_ptr<const Upstreams> BuildUpstreams(std::shared_ptr<const Snapshot> snapshot, const Upstreams* previous,
                                                Executor ex, int workers, observe::MetricsShard& metrics,
                                                std::mt19937_64& rng);

}  // namespace llmproxy::pipeline
