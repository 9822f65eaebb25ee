#pragma once
// `llm-proxy convert-config FILE`: another gateway's config (the Python llm-proxy's, the Go
// LLMProxy's, the LiteLLM multi-vendor proxy's, LiteLLM's) printed in llm-proxy's own format,
// secrets as they were written (${ENV} references or literals), with a comment on anything
// not carried over. The gateway reads those files as they are; this is for switching formats.
#include <CLI/CLI.hpp>
#include <string>

namespace llmproxy::app {

class ConvertCommand {
public:
    explicit ConvertCommand(CLI::App& app);
    bool parsed() const { return cmd_->parsed(); }
    int Run() const;

private:
    CLI::App* cmd_;
    std::string file_;
};

}  // namespace llmproxy::app
