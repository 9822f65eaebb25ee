-- scripts.usage: billing fields for the usage event (webhook, ledger row and access log show
-- them under "custom").
local prices = { ["gpt-4o"] = { 2.5, 10.0 }, ["gpt-4o-mini"] = { 0.15, 0.6 } }  -- USD per 1M tokens
local price = prices[request.model] or { 1.0, 2.0 }
local cost = (usage.prompt_tokens * price[1] + usage.completion_tokens * price[2]) / 1e6
return {
    cost_usd = math.floor(cost * 1e8 + 0.5) / 1e8,
    billing_account = request.headers["X-Billing-Account"] or request.user_id,
    cost_center = "ai-platform",
    streamed = metadata.is_stream,
}
