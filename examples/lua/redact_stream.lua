-- scripts.on_chunk (rewrite: true): mask card-like numbers in streamed answers. Each call sees
-- a block of whole SSE events (`chunk`) and returns the block to send (nil: unchanged).
-- Rewriting copies every block: leave rewrite off for scripts that only observe.
if not string.find(chunk, "%d%d%d%d[ -]?%d%d%d%d[ -]?%d%d%d%d[ -]?%d%d%d%d") then
    return nil
end
return (string.gsub(chunk, "%d%d%d%d[ -]?%d%d%d%d[ -]?%d%d%d%d[ -]?(%d%d%d%d)", "****-****-****-%1"))
