#include "app/keys_command.hpp"
#include "app/usage_command.hpp"

#include <iostream>
#include <sstream>

#include <boost/json.hpp>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"
#include "store/store.hpp"

namespace llmproxy::app {
namespace {

using AddOptions = KeysCommand::AddOptions;

// Names and user ids are printed in tables and logs: a newline or an escape sequence in one
// could forge a line there.
void RequirePrintable(const std::string& value, const char* option) {
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f)
            throw std::runtime_error(std::string(option) + " may not contain control characters");
    }
}

// For the table: control characters (from a row written by other means) shown escaped.
std::string Printable(const std::string& value) {
    std::string out;
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

int Add(store::Store& store, const AddOptions& a) {
    RequirePrintable(a.name, "--name");
    RequirePrintable(a.user_id, "--user-id");
    core::ApiKeyConfig k;
    k.name = a.name;
    const std::string key = a.key.empty() ? core::GenerateApiKey() : a.key;
    k.hash = core::Sha256(key);
    k.key_hint = core::MaskKey(key);
    k.user_id = a.user_id;
    k.active = !a.disabled;
    k.allowed_models = a.models;
    k.allowed_ips = a.ips;
    if (!a.endpoints.empty()) k.allowed_endpoints = a.endpoints;
    for (const auto& e : a.endpoints) {
        if (!core::ValidEndpointGrant(e))
            throw std::runtime_error("--endpoints " + e + " must be a path glob under /v1/");
    }
    for (const auto& ip : a.ips) {
        if (!core::Cidr::Parse(ip)) throw std::runtime_error("--ip " + ip + " is not an IP or CIDR");
    }
    if (!a.expires_at.empty()) {
        auto t = core::ParseUtcTime(a.expires_at);
        if (!t) throw std::runtime_error("--expires-at must be UTC like 2026-12-31T23:59:59Z");
        k.expires_at = *t;
    }
    for (const auto& kv : a.metadata) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::runtime_error("--metadata takes key=value");
        k.metadata[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    k.limits = {a.rps, a.rpm, a.tpm, a.max_concurrent};
    k.total_quota = a.quota;
    auto period = core::ParseQuotaPeriod(a.quota_period);
    if (!period) throw std::runtime_error("--quota-period must be daily, weekly, monthly or never");
    k.quota_period = *period;
    store.AddKey(k);
    std::cout << "created key '" << k.name << "': " << key << "\n"
              << "(shown once: only its SHA-256 hash is stored)\n";
    return 0;
}

int List(store::Store& store, bool json) {
    auto keys = store.ListKeys();
    if (json) {
        boost::json::array out;
        for (const auto& k : keys) {
            boost::json::array models(k.allowed_models.begin(), k.allowed_models.end());
            boost::json::value endpoints = nullptr;  // null: the default rule
            if (k.allowed_endpoints)
                endpoints = boost::json::array(k.allowed_endpoints->begin(), k.allowed_endpoints->end());
            out.push_back(boost::json::object{{"name", k.name},
                                              {"allowed_endpoints", endpoints},
                                              {"key", k.key_hint},
                                              {"user_id", k.user_id},
                                              {"status", k.active ? "active" : "disabled"},
                                              {"allowed_models", models},
                                              {"total_quota", k.total_quota},
                                              {"quota_reset_period", core::QuotaPeriodName(k.quota_period)},
                                              {"expires_at", k.expires_at ? core::FormatUtcTime(k.expires_at) : ""}});
        }
        std::cout << boost::json::serialize(out) << "\n";
        return 0;
    }
    std::printf("%-20s %-9s %-16s %-14s %-12s %-8s %s\n", "NAME", "STATUS", "KEY", "USER", "QUOTA", "PERIOD", "MODELS");
    for (const auto& k : keys) {
        std::string models;
        for (const auto& m : k.allowed_models) models += (models.empty() ? "" : ",") + m;
        std::printf("%-20s %-9s %-16s %-14s %-12lld %-8s %s\n", Printable(k.name).c_str(),
                    k.active ? "active" : "disabled", Printable(k.key_hint).c_str(), Printable(k.user_id).c_str(),
                    static_cast<long long>(k.total_quota), core::QuotaPeriodName(k.quota_period),
                    Printable(models).c_str());
    }
    return 0;
}

}  // namespace

KeysCommand::KeysCommand(CLI::App& app) {
    auto* keys = cmd_ =
        app.add_subcommand("keys", "manage API keys in the store (database.url of --config, or --database)");
    keys->add_option("--database", database_, "sqlite://path or postgres://... (default: sqlite://llm-proxy.db)");
    keys->require_subcommand(1);

    auto* add = keys->add_subcommand("add", "create a key and print it once");
    auto& a = add_;
    add->add_option("--name", a.name, "unique name (shown in logs and metrics)")->required();
    add->add_option("--key", a.key, "the key itself (default: a random sk-... key)");
    add->add_option("--user-id", a.user_id, "owner, reported in usage events");
    add->add_option("--models", a.models, "allowed model globs (default: *)")->delimiter(',');
    add->add_option("--ips", a.ips, "allowed client CIDRs (default: any)")->delimiter(',');
    add->add_option("--endpoints", a.endpoints,
                    "pass-through paths it may use, e.g. /v1/files/*,'DELETE /v1/files/*' (default: all but DELETE "
                    "when --models is unset, none otherwise)")
        ->delimiter(',');
    add->add_option("--expires-at", a.expires_at, "UTC expiry, e.g. 2026-12-31T23:59:59Z");
    add->add_option("--quota", a.quota, "tokens per quota period (0 = none)");
    add->add_option("--quota-period", a.quota_period, "daily | weekly | monthly | never");
    add->add_option("--rps", a.rps, "requests per second");
    add->add_option("--rpm", a.rpm, "requests per minute");
    add->add_option("--tpm", a.tpm, "tokens per minute");
    add->add_option("--max-concurrent", a.max_concurrent, "concurrent requests");
    add->add_option("--metadata", a.metadata, "key=value (repeatable)");
    add->add_flag("--disabled", a.disabled, "create it disabled");

    auto* list = keys->add_subcommand("list", "list keys (masked)");
    list->add_flag("--json", json_, "print JSON");
    for (const char* verb : {"enable", "disable", "delete"}) {
        keys->add_subcommand(verb, std::string(verb) + " a key by name")->add_option("name", target_)->required();
    }
}

std::string DatabaseUrlFor(const std::string& database, const std::string& config_path) {
    if (!database.empty()) return database;
    if (!config_path.empty()) {
        auto r = core::LoadConfigFile(config_path);
        if (!r.errors.empty()) throw std::runtime_error(r.errors.front());
        if (!r.config->database.url.empty()) return r.config->database.url;
        throw std::runtime_error(config_path + " has no database.url");
    }
    return "sqlite://llm-proxy.db";
}

int KeysCommand::Run(const std::string& config_path) {
    try {
        auto store = store::Store::Open(DatabaseUrlFor(database_, config_path));
        if (cmd_->got_subcommand("add")) return Add(*store, add_);
        if (cmd_->got_subcommand("list")) return List(*store, json_);
        bool found = false;
        if (cmd_->got_subcommand("enable")) found = store->SetKeyActive(target_, true);
        if (cmd_->got_subcommand("disable")) found = store->SetKeyActive(target_, false);
        if (cmd_->got_subcommand("delete")) found = store->DeleteKey(target_);
        if (!found) {
            std::cerr << "error: no key named '" << target_ << "'\n";
            return 1;
        }
        std::cout << "ok\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace llmproxy::app
