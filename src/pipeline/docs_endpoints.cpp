// /openapi.json, /docs (Swagger UI), /redoc (ReDoc) and the viewers' files: all from the
// binary, so the pages render with no internet.
#include "pipeline/docs_assets.hpp"
#include "pipeline/local_endpoints.hpp"
#include "pipeline/openapi.hpp"

namespace llmproxy::pipeline {
namespace {

constexpr std::string_view kSwaggerPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-proxy API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>
)";

constexpr std::string_view kRedocPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-proxy API</title></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script>
</body></html>
)";

void Html(RequestContext& ctx, std::string_view page) {
    ctx.Answer(200, std::string(page));
    ctx.content_type = "text/html; charset=utf-8";
}

}  // namespace

Task<void> AnswerOpenApi(RequestContext& ctx, Runtime& rt) {
    static const std::string kBuiltin = BuildOpenApi(BuiltinEndpoints(), "0.1.0");
    ctx.Answer(200, rt.openapi ? *rt.openapi : kBuiltin);
    co_return;
}

Task<void> AnswerDocs(RequestContext& ctx, Runtime&) {
    Html(ctx, kSwaggerPage);
    co_return;
}

Task<void> AnswerRedoc(RequestContext& ctx, Runtime&) {
    Html(ctx, kRedocPage);
    co_return;
}

Task<void> AnswerDocsAsset(RequestContext& ctx, Runtime&) {
    const DocsAsset* asset = FindDocsAsset(ctx.path_param);
    if (!asset) {
        ctx.Refuse(core::NotFound("Unknown file: " + std::string(ctx.path_param), "unknown_url"));
        co_return;
    }
    ctx.Answer(200, std::string(asset->bytes));
    ctx.content_type = asset->content_type;
    ctx.answer_headers = "Cache-Control: public, max-age=86400\r\n";
    co_return;
}

}  // namespace llmproxy::pipeline
