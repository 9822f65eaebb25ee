#pragma once
// Public model name -> the providers that serve it, built once per config snapshot.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config.hpp"
#include "proxy/balancer.hpp"

namespace llmproxy::proxy {

struct Route {
    std::size_t id = 0;  // stable index: workers keep one balancer per route id
    std::vector<Candidate> candidates;
    std::string strategy;  // routing.models[name].strategy, else routing.strategy
};

struct Resolution {
    std::string public_model;  // after strip_prefix / default_model
    const Route* route = nullptr;
};

class RouteTable {
public:
    explicit RouteTable(std::shared_ptr<const core::Config> config);

    /// `requested` is the body's model ("" when absent). Returns nullopt route when no provider
    /// serves the model.
    Resolution Resolve(std::string_view requested) const;

    /// The name to send upstream for `public_model` at provider `p` (model_map or unchanged).
    const std::string& UpstreamModel(std::size_t provider, const std::string& public_model) const;

    /// Provider-level fallbacks: providers to try, in order, after `provider` failed.
    const std::vector<std::size_t>& FallbacksOf(std::size_t provider) const { return fallbacks_[provider]; }

    /// Models to try when every target of `public_model` failed (routing.models.*.fallback_models).
    const std::vector<std::string>& FallbackModels(const std::string& public_model) const;

    /// Public model names for GET /v1/models (explicit names, mapped names, default).
    const std::vector<std::string>& ListedModels() const { return listed_; }

    std::size_t route_count() const { return routes_.size(); }
    const Route& route(std::size_t id) const { return *routes_[id]; }
    const core::Config& config() const { return *config_; }

private:
    const Route* RouteFor(const std::string& model) const;

    std::shared_ptr<const core::Config> config_;
    std::vector<std::unique_ptr<Route>> routes_;
    std::unordered_map<std::string, const Route*> exact_;  // explicitly named models
    // Routes for names matched only by globs, keyed by the set of matching providers.
    std::unordered_map<std::string, const Route*> glob_sets_;
    std::vector<std::string> listed_;
    std::vector<std::vector<std::size_t>> fallbacks_;  // by provider index
    // routing.models targets that rename the model: public name -> (provider, upstream name).
    std::unordered_map<std::string, std::vector<std::pair<std::size_t, std::string>>> target_models_;
    std::unordered_set<std::string> unserved_;  // routed by targets of which none is live
};

}  // namespace llmproxy::proxy
