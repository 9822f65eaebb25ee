// llm-proxy convert-config: another gateway's config file printed in the native format.
#include <cstdio>
#include <sstream>

#include "core/config.hpp"
#include "core/config_dialect.hpp"
#include "core/config_reader.hpp"

namespace llmproxy::core {
namespace {

// A comment line's text: a key from the file may hold a newline (or a NUL), which would end
// the comment and leave the rest as YAML. Control characters are printed as \xNN.
std::string OneLine(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out.push_back(c);
            continue;
        }
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        out += hex;
    }
    return out;
}

}  // namespace

ConvertedConfig ConvertConfigFile(const std::string& path) {
    const auto text = ReadConfigText(path);
    if (!text) {
        ConvertedConfig out;
        out.result.errors.push_back(path + ": cannot open file");
        return out;
    }
    return ConvertConfigText(*text, path);
}

ConvertedConfig ConvertConfigText(const std::string& text, const std::string& path) {
    ConvertedConfig out;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception&) {
        out.result = LoadConfigString(text, path);  // the syntax error, with its position
        return out;
    }
    auto tree = detail::ReadAsNative(root, path);
    const std::vector<std::string> notes = tree.result.warnings;  // what the conversion left out
    const std::string dialect = tree.result.dialect;
    YAML::Emitter emitter;
    emitter << tree.root;
    out.result = detail::Validate(std::move(tree), path);  // the native loader's verdict on it
    if (!out.result.errors.empty()) return out;
    std::ostringstream os;
    os << "# " << OneLine(path) << " in llm-proxy's format (llm-proxy convert-config), read as "
       << (dialect.empty() ? "an llm-proxy config" : dialect) << ".\n";
    if (!notes.empty()) {
        os << "# Not carried over, or carried over differently:\n";
        for (const auto& note : notes) os << "#   - " << OneLine(note.substr(path.size() + 2)) << "\n";
    }
    os << emitter.c_str() << "\n";
    out.yaml = os.str();
    return out;
}

}  // namespace llmproxy::core
