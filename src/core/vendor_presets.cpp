#include "core/vendor_presets.hpp"

namespace llmproxy::core {
namespace {

// Facts from ../shared/research/providers.md section 5 (vendors' API references and issue
// threads). Where a fact is unverified there, the preset assumes OpenAI's behaviour.
const std::vector<VendorPreset>& Presets() {
    static const std::vector<VendorPreset> presets = {
        {.name = "openai",
         .type = "openai",
         .base_url = "https://api.openai.com/v1",
         .api_key_env = "OPENAI_API_KEY",
         .health_path = "models",
         .native_responses = true},
        {.name = "anthropic",
         .type = "anthropic",
         .base_url = "https://api.anthropic.com/v1",
         .api_key_env = "ANTHROPIC_API_KEY",
         .health_path = "models"},
        // reasoning_content; cache hits as prompt_cache_hit_tokens (both read everywhere).
        {.name = "deepseek",
         .type = "openai",
         .base_url = "https://api.deepseek.com/v1",
         .api_key_env = "DEEPSEEK_API_KEY",
         .health_path = "models"},
        // Volcengine Ark: `model` may be an endpoint id (ep-...): map names with model_map.
        {.name = "volcengine",
         .type = "openai",
         .base_url = "https://ark.cn-beijing.volces.com/api/v3",
         .api_key_env = "ARK_API_KEY",
         .health_path = "models"},
        // Alibaba DashScope (compatible mode); intl: https://dashscope-intl.aliyuncs.com/compatible-mode/v1
        {.name = "dashscope",
         .type = "openai",
         .base_url = "https://dashscope.aliyuncs.com/compatible-mode/v1",
         .api_key_env = "DASHSCOPE_API_KEY",
         .health_path = "models"},
        // Baidu Qianfan v2: an optional appid header (headers: {appid: ...}) splits billing.
        {.name = "qianfan",
         .type = "openai",
         .base_url = "https://qianfan.baidubce.com/v2",
         .api_key_env = "QIANFAN_API_KEY",
         .health_path = "models"},
        // Gemini's OpenAI endpoint: tool-call deltas lack `index`.
        {.name = "gemini",
         .type = "openai",
         .base_url = "https://generativelanguage.googleapis.com/v1beta/openai",
         .api_key_env = "GEMINI_API_KEY",
         .health_path = "models",
         .fix_tool_call_index = true},
        {.name = "openrouter",
         .type = "openai",
         .base_url = "https://openrouter.ai/api/v1",
         .api_key_env = "OPENROUTER_API_KEY",
         .health_path = "models",
         .native_responses = true},
        // Moonshot / Kimi: usage inside choices[0] (read everywhere); tool ids like functions.X:0.
        {.name = "moonshot",
         .type = "openai",
         .base_url = "https://api.moonshot.ai/v1",
         .api_key_env = "MOONSHOT_API_KEY",
         .health_path = "models",
         .native_responses = true},
        // Zhipu GLM / Z.AI: rejects strict, penalties, message names, max_completion_tokens and
        // stream_options.
        {.name = "zhipu",
         .type = "openai",
         .base_url = "https://open.bigmodel.cn/api/paas/v4",
         .api_key_env = "ZHIPUAI_API_KEY",
         .health_path = "models",
         .stream_usage = false,
         .drop_params = {"presence_penalty", "frequency_penalty", "messages[].name", "tools[].function.strict",
                         "stream_options", "parallel_tool_calls"},
         .rename_params = {{"max_completion_tokens", "max_tokens"}}},
        // Ollama: native /v1/messages; older versions stream tool calls without `index`; its own
        // error shape {"error":"..."}.
        {.name = "ollama",
         .type = "openai",
         .base_url = "http://127.0.0.1:11434/v1",
         .api_key_env = "OLLAMA_API_KEY",
         .health_path = "/api/version",
         .native_messages = true,
         .fix_tool_call_index = true,
         .normalize_errors = true},
        // vLLM: native /v1/messages and count_tokens; reasoning in `reasoning` (read everywhere).
        {.name = "vllm",
         .type = "openai",
         .base_url = "http://127.0.0.1:8000/v1",
         .api_key_env = "VLLM_API_KEY",
         .health_path = "/health",
         .native_messages = true},
        // TGI: the Messages API; {"error":"...","error_type":"..."} errors.
        {.name = "tgi",
         .type = "openai",
         .base_url = "http://127.0.0.1:3000/v1",
         .api_key_env = "HF_TOKEN",
         .health_path = "/health",
         .normalize_errors = true},
    };
    return presets;
}

}  // namespace

const VendorPreset* FindPreset(std::string_view name) {
    for (const auto& p : Presets()) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

std::string PresetNames() {
    std::string names;
    for (const auto& p : Presets()) {
        if (!names.empty()) names += ", ";
        names += p.name;
    }
    return names;
}

}  // namespace llmproxy::core
