#include "app/convert_command.hpp"

#include <iostream>

#include "core/config.hpp"
#include "script/script_set.hpp"

namespace llmproxy::app {

ConvertCommand::ConvertCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("convert-config",
                              "print FILE (a Python llm-proxy, Go LLMProxy, multi-vendor proxy or LiteLLM config) in "
                              "llm-proxy's format");
    cmd_->add_option("FILE", file_, "the config file to convert")->required();
}

int ConvertCommand::Run() const {
    auto converted = core::ConvertConfigFile(file_);
    auto& result = converted.result;
    if (result.config) result.errors = script::CheckScripts(*result.config);
    for (const auto& e : result.errors) std::cerr << "error: " << e << "\n";
    if (!result.errors.empty()) return 1;
    std::cout << converted.yaml;
    return 0;
}

}  // namespace llmproxy::app
