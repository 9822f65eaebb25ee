#include "proxy/route_table.hpp"

#include <algorithm>
#include <set>

#include "core/units.hpp"

namespace llmproxy::proxy {
namespace {
bool IsGlob(const std::string& s) {
    return s.find_first_of("*?") != std::string::npos;
}
using core::kMaxGlobProviders;  // 1023 subsets (the config loader refuses more)
}  // namespace

RouteTable::RouteTable(std::shared_ptr<const core::Config> config) : config_(std::move(config)) {
    const auto& providers = config_->providers;
    fallbacks_.resize(providers.size());
    for (const auto& f : config_->routing.fallback) {
        auto index_of = [&](const std::string& name) {
            for (std::size_t i = 0; i < providers.size(); ++i) {
                if (providers[i].name == name) return i;
            }
            return providers.size();
        };
        std::size_t primary = index_of(f.primary);
        if (primary == providers.size()) continue;
        for (const auto& name : f.fallback) {
            if (std::size_t i = index_of(name); i < providers.size()) fallbacks_[primary].push_back(i);
        }
    }
    std::set<std::string> names;
    for (const auto& p : providers) {
        for (const auto& m : p.models) {
            if (!IsGlob(m)) names.insert(m);
        }
        for (const auto& [from, to] : p.model_map) names.insert(from);
    }
    if (!config_->routing.default_model.empty()) names.insert(config_->routing.default_model);
    for (const auto& [model, routing] : config_->routing.models) {
        if (routing.targets_disabled) unserved_.insert(model);
        if (routing.targets.empty()) continue;
        names.insert(model);
        auto& upstream = target_models_[model];
        for (const auto& t : routing.targets) {
            for (std::size_t i = 0; i < providers.size(); ++i) {
                if (providers[i].name == t.provider && !t.model.empty()) upstream.emplace_back(i, t.model);
            }
        }
    }

    auto make_route = [&](const std::string& model) {
        auto route = std::make_unique<Route>();
        route->id = routes_.size();
        route->strategy = config_->routing.strategy;
        if (auto it = config_->routing.models.find(model);
            it != config_->routing.models.end() && !it->second.strategy.empty()) {
            route->strategy = it->second.strategy;
        }
        if (auto it = config_->routing.models.find(model);
            it != config_->routing.models.end() && !it->second.targets.empty()) {
            // Explicit targets: exactly these providers, with the route's own weights.
            for (const auto& t : it->second.targets) {
                for (std::size_t i = 0; i < providers.size(); ++i) {
                    if (providers[i].name == t.provider && t.weight > 0) route->candidates.push_back({i, t.weight});
                }
            }
        } else {
            for (std::size_t i = 0; i < providers.size(); ++i) {
                for (const auto& pattern : providers[i].models) {
                    if (core::GlobMatch(pattern, model)) {
                        route->candidates.push_back({i, providers[i].weight});
                        break;
                    }
                }
            }
        }
        routes_.push_back(std::move(route));
        return routes_.back().get();
    };
    for (const auto& name : names) {
        const Route* route = make_route(name);
        if (route->candidates.empty()) {
            // Routed by its own targets, none of them live: not served by the globs instead.
            if (target_models_.count(name)) unserved_.insert(name);
            continue;
        }
        exact_.emplace(name, route);
        listed_.push_back(name);
    }
    // Names matched only by globs ("*", "gpt-*") get the route of their set of matching
    // providers. Configs use a handful of glob providers, so every subset is built up front
    // and Resolve() never allocates a route (routes are immutable and shared by workers).
    std::vector<std::size_t> glob_providers;
    for (std::size_t i = 0; i < providers.size(); ++i) {
        if (std::any_of(providers[i].models.begin(), providers[i].models.end(), IsGlob)) {
            glob_providers.push_back(i);
        }
    }
    if (glob_providers.size() <= kMaxGlobProviders) {
        for (unsigned mask = 1; mask < (1u << glob_providers.size()); ++mask) {
            auto route = std::make_unique<Route>();
            route->id = routes_.size();
            route->strategy = config_->routing.strategy;
            std::string key;
            for (std::size_t b = 0; b < glob_providers.size(); ++b) {
                if (mask & (1u << b)) {
                    std::size_t i = glob_providers[b];
                    route->candidates.push_back({i, providers[i].weight});
                    key += std::to_string(i) + ",";
                }
            }
            glob_sets_.emplace(key, route.get());
            routes_.push_back(std::move(route));
        }
    }
}

const Route* RouteTable::RouteFor(const std::string& model) const {
    if (auto it = exact_.find(model); it != exact_.end()) return it->second;
    if (!unserved_.empty() && unserved_.count(model)) return nullptr;
    std::string key;
    for (std::size_t i = 0; i < config_->providers.size(); ++i) {
        for (const auto& pattern : config_->providers[i].models) {
            if (IsGlob(pattern) && core::GlobMatch(pattern, model)) {
                key += std::to_string(i) + ",";
                break;
            }
        }
    }
    if (key.empty()) return nullptr;
    auto it = glob_sets_.find(key);
    return it == glob_sets_.end() ? nullptr : it->second;
}

Resolution RouteTable::Resolve(std::string_view requested) const {
    Resolution r;
    const auto& routing = config_->routing;
    if (requested.empty()) {
        r.public_model = routing.default_model;
    } else if (!routing.strip_prefix.empty() && requested.starts_with(routing.strip_prefix) &&
               requested.size() > routing.strip_prefix.size()) {
        r.public_model = std::string(requested.substr(routing.strip_prefix.size()));
    } else {
        r.public_model = std::string(requested);
    }
    if (!r.public_model.empty()) r.route = RouteFor(r.public_model);
    return r;
}

const std::string& RouteTable::UpstreamModel(std::size_t provider, const std::string& public_model) const {
    if (!target_models_.empty()) {
        if (auto it = target_models_.find(public_model); it != target_models_.end()) {
            for (const auto& [index, name] : it->second) {
                if (index == provider) return name;
            }
        }
    }
    const auto& map = config_->providers[provider].model_map;
    if (auto it = map.find(public_model); it != map.end()) return it->second;
    return public_model;
}

}  // namespace llmproxy::proxy

namespace llmproxy::proxy {

const std::vector<std::string>& RouteTable::FallbackModels(const std::string& public_model) const {
    static const std::vector<std::string> kNone;
    auto it = config_->routing.models.find(public_model);
    return it == config_->routing.models.end() ? kNone : it->second.fallback_models;
}

}  // namespace llmproxy::proxy
