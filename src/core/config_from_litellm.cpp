// LiteLLM proxy's config.yaml: the part that describes routing, keys and limits.
//
// model_list: each entry is a deployment (a provider here, named by model_info.id, else by its
// model_name, numbered when several share it) serving model_name; entries sharing a
// model_name are one route whose traffic is shared by weight (else rpm, else tpm, as
// simple-shuffle does). litellm_params.model "<provider>/<model>" picks the vendor preset and
// the name sent upstream. "os.environ/VAR" is ${VAR} (environment_variables first).
// router_settings: routing_strategy, num_retries, timeout, fallbacks, allowed_fails,
// cooldown_time. general_settings.master_key: the admin key, and the one API key (as there
// without a database). Everything else of LiteLLM's own is left out with a warning.
#include <map>
#include <set>

#include "core/config_dialect.hpp"
#include "core/vendor_presets.hpp"

namespace llmproxy::core::detail {
namespace {

// LiteLLM's provider prefixes that mean a preset here.
const std::map<std::string, std::string> kPrefixPresets{{"openai", "openai"},
                                                        {"anthropic", "anthropic"},
                                                        {"deepseek", "deepseek"},
                                                        {"volcengine", "volcengine"},
                                                        {"dashscope", "dashscope"},
                                                        {"gemini", "gemini"},
                                                        {"openrouter", "openrouter"},
                                                        {"moonshot", "moonshot"},
                                                        {"ollama", "ollama"},
                                                        {"ollama_chat", "ollama"},
                                                        {"hosted_vllm", "vllm"},
                                                        {"huggingface", "tgi"},
                                                        {"text-completion-openai", "openai"}};

const std::set<std::string> kParams{"model",         "api_base",       "api_key",     "rpm",    "tpm",
                                    "timeout",       "stream_timeout", "max_retries", "weight", "organization",
                                    "extra_headers", "headers",        "drop_params", "tags",   "custom_llm_provider"};

struct Context {
    Reader& r;
    const YAML::Node& env;  // environment_variables
    LiteLlmDefaults defaults;
    std::map<std::string, int> names;  // model_name -> deployments seen (for numbering)
};

// "os.environ/VAR" -> environment_variables.VAR as written, else ${VAR}; anything else as is.
YAML::Node EnvRef(Context& c, const YAML::Node& value) {
    if (!value.IsDefined() || !value.IsScalar() || !value.Scalar().starts_with("os.environ/")) return value;
    const std::string name = value.Scalar().substr(11);
    if (IsMapNode(c.env) && c.env[name]) return YAML::Clone(c.env[name]);  // may serve several deployments
    return Scalar("${" + name + "}");
}

// The preset and the upstream model name of "<provider>/<model>".
void Vendor(Context& c, const YAML::Node& params, const std::string& path, YAML::Node& p, std::string& upstream) {
    std::string model, provider;
    c.r.StrField(params, path, "model", model);
    c.r.StrField(params, path, "custom_llm_provider", provider);
    if (const auto slash = model.find('/'); provider.empty() && slash != std::string::npos) {
        provider = model.substr(0, slash);
        model = model.substr(slash + 1);
    } else if (provider.empty()) {
        provider = model.starts_with("claude") ? "anthropic" : "openai";  // as LiteLLM infers
    }
    upstream = model;
    if (model.empty()) {
        c.r.Error(params["model"] ? params["model"] : params, path + ".model",
                  "is required: \"<provider>/<model name>\", e.g. openai/gpt-4o");
        return;
    }
    const auto preset = kPrefixPresets.find(provider);
    if (preset == kPrefixPresets.end()) {
        std::string known;
        for (const auto& [name, _] : kPrefixPresets) known += (known.empty() ? "" : ", ") + name;
        c.r.Error(params["model"], path + ".model",
                  "provider \"" + provider + "\" is not supported here (" + known + ")");
        return;
    }
    // An OpenAI-compatible server at api_base is not OpenAI: no preset, only the type.
    if (preset->second == "openai" && params["api_base"]) return;
    p["preset"] = preset->second;
}

int Weight(Context& c, const YAML::Node& params, const YAML::Node& entry, const std::string& path) {
    for (const char* field : {"weight", "rpm", "tpm"}) {
        for (const auto* where : {&params, &entry}) {
            int value = 0;
            if (!(*where)[field]) continue;
            c.r.IntField(*where, path, field, value, 0, 1'000'000'000);
            if (std::string(field) != "weight")
                c.r.Warn(path + "." + field +
                         ": used as this deployment's share of traffic (as simple-shuffle does), "
                         "not enforced as a limit");
            return value > 0 ? value : 1;
        }
    }
    return 1;
}

void Params(Context& c, const YAML::Node& params, const std::string& path, YAML::Node& p) {
    Carry(p, "base_url", EnvRef(c, params["api_base"]));
    if (params["api_key"]) p["api_key"] = EnvRef(c, params["api_key"]);
    if (params["timeout"]) {
        if (auto d = SecondsToDuration(c.r, params["timeout"], path + ".timeout")) p["timeouts"]["total"] = *d;
    } else if (c.defaults.timeout) {
        p["timeouts"]["total"] = *c.defaults.timeout;
    }
    if (c.defaults.allowed_fails) p["circuit_breaker"]["failure_threshold"] = *c.defaults.allowed_fails;
    if (c.defaults.cooldown) p["circuit_breaker"]["base_ejection"] = *c.defaults.cooldown;
    if (params["organization"]) p["headers"]["OpenAI-Organization"] = EnvRef(c, params["organization"]);
    for (const char* field : {"extra_headers", "headers"}) {
        if (!IsMapNode(params[field])) continue;
        for (const auto& kv : params[field]) p["headers"][kv.first.as<std::string>()] = EnvRef(c, kv.second);
    }
    for (const char* field : {"stream_timeout", "max_retries", "drop_params", "tags"}) {
        if (params[field])
            c.r.Warn(path + "." + field + ": ignored (router_settings.num_retries and the presets' drop_params apply)");
    }
}

}  // namespace

YAML::Node FromLiteLlm(Reader& r, const YAML::Node& root) {
    YAML::Node native(YAML::NodeType::Map);
    r.Keys(root, "",
           {"model_list", "router_settings", "litellm_settings", "general_settings", "environment_variables",
            "callback_settings"});
    native["server"]["listen"] = "0.0.0.0:4000";                 // its default port
    native["providers"] = YAML::Node(YAML::NodeType::Sequence);  // printed before routing
    Context c{r, root["environment_variables"], {}, {}};
    LiteLlmSettings(r, root, native, c.defaults);
    const auto list = root["model_list"];
    if (!IsListNode(list) || list.size() == 0) {
        r.Error(list.IsDefined() ? list : root, "model_list",
                "must be a non-empty list of {model_name, litellm_params}");
        return native;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& entry = list[i];
        const std::string path = "model_list[" + std::to_string(i) + "]";
        if (!r.Keys(entry, path, {"model_name", "litellm_params", "model_info", "rpm", "tpm"})) continue;
        std::string model_name;
        r.StrField(entry, path, "model_name", model_name);
        const auto params = entry["litellm_params"];
        if (model_name.empty() || !IsMapNode(params)) {
            r.Error(entry, path, "needs model_name and litellm_params");
            continue;
        }
        const std::string ppath = path + ".litellm_params";
        if (!r.Keys(params, ppath, kParams)) continue;
        YAML::Node p(YAML::NodeType::Map);
        std::string name = model_name;
        if (IsMapNode(entry["model_info"]) && entry["model_info"]["id"])
            r.StrField(entry["model_info"], path, "id", name);
        if (const int n = ++c.names[model_name]; n > 1 && name == model_name) name += "-" + std::to_string(n);
        p["name"] = name;
        std::string upstream;
        Vendor(c, params, ppath, p, upstream);
        Params(c, params, ppath, p);
        p["models"].push_back(model_name);
        if (model_name.find_first_of("*?") != std::string::npos) {
            if (model_name != "*" || upstream != "*")
                r.Error(entry["model_name"], path + ".model_name",
                        "wildcard routes other than model_name \"*\" with model \"<provider>/*\" are not supported");
        } else {
            YAML::Node target(YAML::NodeType::Map);
            target["provider"] = name;
            target["model"] = upstream;
            target["weight"] = Weight(c, params, entry, ppath);
            native["routing"]["models"][model_name]["targets"].push_back(target);
        }
        native["providers"].push_back(p);
    }
    return native;
}

}  // namespace llmproxy::core::detail
