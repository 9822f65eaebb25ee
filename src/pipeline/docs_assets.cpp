#include "pipeline/docs_assets.hpp"

// The files are assembled into .rodata as they are (.incbin): no hex dump to compile, no copy
// at start. LP_DOCS_VIEWERS_DIR is set by CMake, which also makes this file depend on them.
#define LP_STR2(x) #x
#define LP_STR(x) LP_STR2(x)
#define LP_EMBED(symbol, file)                                                                       \
    __asm__(".section .rodata\n.balign 16\n.global " #symbol "\n" #symbol ":\n.incbin \"" LP_STR(    \
        LP_DOCS_VIEWERS_DIR) "/" file "\"\n.global " #symbol "_end\n" #symbol "_end:\n.previous\n"); \
    extern "C" const char symbol[], symbol##_end[];

LP_EMBED(lp_swagger_ui_js, "swagger-ui-bundle.js")
LP_EMBED(lp_swagger_ui_css, "swagger-ui.css")
LP_EMBED(lp_redoc_js, "redoc.standalone.js")

namespace llmproxy::pipeline {
namespace {

std::string_view Between(const char* begin, const char* end) {
    return {begin, static_cast<std::size_t>(end - begin)};
}

}  // namespace

const DocsAsset* FindDocsAsset(std::string_view name) {
    static const DocsAsset kAssets[] = {
        {"swagger-ui-bundle.js", "application/javascript; charset=utf-8",
         Between(lp_swagger_ui_js, lp_swagger_ui_js_end)},
        {"swagger-ui.css", "text/css; charset=utf-8", Between(lp_swagger_ui_css, lp_swagger_ui_css_end)},
        {"redoc.standalone.js", "application/javascript; charset=utf-8", Between(lp_redoc_js, lp_redoc_js_end)},
    };
    for (const auto& a : kAssets) {
        if (a.name == name) return &a;
    }
    return nullptr;
}

}  // namespace llmproxy::pipeline
