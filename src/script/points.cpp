// The typed script points of ScriptSet: each builds the globals the Go LLMProxy documents for
// its point and reads the documented return shape (nil always means "do the default").
#include <ctime>
#include <lua.hpp>

#include "script/lua_fields.hpp"

#include "script/lua_json.hpp"
#include "script/script_set.hpp"

namespace llmproxy::script {
namespace {

// Field of the table on top; `fallback` when absent.
bool BoolField(lua_State* L, const char* name, bool fallback) {
    lua_getfield(L, -1, name);
    const bool value = lua_isnil(L, -1) ? fallback : lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    return value;
}
std::string StringField(lua_State* L, const char* name) {
    lua_getfield(L, -1, name);
    std::size_t size = 0;
    const char* s =
        lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER ? lua_tolstring(L, -1, &size) : nullptr;
    std::string value = s ? std::string(s, size) : std::string();
    lua_pop(L, 1);
    return value;
}
double NumberField(lua_State* L, const char* name, double fallback) {
    lua_getfield(L, -1, name);
    const double value = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : fallback;
    lua_pop(L, 1);
    return value;
}

// A body field: a table is encoded, a string taken as is.
std::optional<std::string> BodyField(lua_State* L, const char* name) {
    lua_getfield(L, -1, name);
    std::optional<std::string> body;
    if (lua_type(L, -1) == LUA_TTABLE) {
        body.emplace();
        AppendJson(L, -1, *body);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        std::size_t size = 0;
        const char* s = lua_tolstring(L, -1, &size);
        body.emplace(s, size);
    }
    lua_pop(L, 1);
    return body;
}

// headers = {Name = "value"}: names must be tokens and values single lines (no injection).
void ReadHeaders(lua_State* L, const char* field, HeaderList& out) {
    lua_getfield(L, -1, field);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
                luaL_error(L, "headers must map names to strings");
            }
            lua_pushvalue(L, -2);
            const std::string name = lua_tostring(L, -1);
            lua_pop(L, 1);
            const std::string value = lua_tostring(L, -1);
            const bool bad_name = name.empty() || name.find_first_of(" \t\r\n:()<>@,;\\\"/[]?={}") != std::string::npos;
            if (bad_name || value.find_first_of("\r\n") != std::string::npos) {
                luaL_error(L, "header %s is not a valid header line", name.c_str());
            }
            out.emplace_back(name, value);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

void PushBackends(lua_State* L, const std::vector<BackendView>& backends) {
    lua_createtable(L, 0, static_cast<int>(backends.size()));
    for (const auto& b : backends) {
        lua_createtable(L, 0, 6);
        SetString(L, "name", b.name);
        SetString(L, "url", b.url);
        SetBool(L, "healthy", b.healthy);
        SetNumber(L, "weight", b.weight);
        SetNumber(L, "latency_ms", b.latency_ms);
        SetNumber(L, "active_connections", b.active_connections);
        lua_setfield(L, -2, std::string(b.name).c_str());
    }
}

void PushKeyInfo(lua_State* L, const KeyInfo& key) {
    lua_createtable(L, 0, 8);
    SetString(L, "key", key.key);
    SetString(L, "name", key.name);
    SetString(L, "user_id", key.user_id);
    SetString(L, "status", key.status);
    SetNumber(L, "total_quota", key.total_quota);
    SetNumber(L, "used_quota", key.used_quota);
    SetNumber(L, "expires_at", key.expires_at);
    lua_newtable(L);
    if (key.allowed_ips) {
        int i = 0;
        for (const auto& ip : *key.allowed_ips) {
            lua_pushlstring(L, ip.data(), ip.size());
            lua_rawseti(L, -2, ++i);
        }
    }
    lua_setfield(L, -2, "allowed_ips");
}

// {allow, reason, status_code, retry_after}; a boolean is allow alone.
Decision ReadDecision(lua_State* L, const char* point) {
    Decision d;
    if (lua_type(L, -1) == LUA_TBOOLEAN) {
        d.allow = lua_toboolean(L, -1) != 0;
        return d;
    }
    if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "%s must return a table, a boolean or nil", point);
    d.allow = BoolField(L, "allow", true);
    d.reason = StringField(L, "reason");
    if (d.reason.empty()) d.reason = StringField(L, "message");
    d.status_code = static_cast<unsigned>(NumberField(L, "status_code", 0));
    d.retry_after = static_cast<int>(NumberField(L, "retry_after", 60));
    if (d.status_code != 0 && (d.status_code < 400 || d.status_code > 599)) {
        luaL_error(L, "%s: status_code must be 400-599", point);
    }
    return d;
}

void SetRequest(lua_State* L, const RequestView& request, BodyForm form, std::uint64_t generation) {
    PushRequest(L, request, form, generation);
    lua_setfield(L, -2, "request");
}

}  // namespace

Answer<std::string> ScriptSet::Routing(const RequestView& request, const std::vector<BackendView>& backends) {
    Answer<std::string> answer;
    answer.failure = Call(
        Point::kRouting, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            if (slots_[Index(Point::kRouting)].names_backends) {
                PushBackends(L, backends);
                lua_setfield(L, -2, "backends");
            }
        },
        [&](lua_State* L) {
            if (lua_type(L, -1) == LUA_TSTRING)
                answer.value = lua_tostring(L, -1);
            else if (!lua_isnil(L, -1))
                luaL_error(L, "routing must return a backend name or nil");
        });
    return answer;
}

Answer<Decision> ScriptSet::Auth(const RequestView& request, const KeyInfo& key) {
    Answer<Decision> answer;
    answer.failure = Call(
        Point::kAuth, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            PushKeyInfo(L, key);
            lua_setfield(L, -2, "key_info");
            // The script runs once the standard checks passed (it may refuse, never admit).
            lua_createtable(L, 0, 5);
            for (const char* check : {"key_valid", "status_active", "not_expired", "ip_allowed"})
                SetBool(L, check, true);
            SetBool(L, "quota_available", key.total_quota <= 0 || key.used_quota < key.total_quota);
            lua_setfield(L, -2, "standard_checks");
        },
        [&](lua_State* L) {
            if (!lua_isnil(L, -1)) answer.value = ReadDecision(L, "auth");
        });
    return answer;
}

Answer<Decision> ScriptSet::RateLimit(const RequestView& request, const KeyInfo& key, const LimitStatus& status) {
    Answer<Decision> answer;
    answer.failure = Call(
        Point::kRateLimit, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            PushKeyInfo(L, key);
            lua_setfield(L, -2, "key_info");
            lua_createtable(L, 0, 3);
            SetNumber(L, "global_remaining", status.global_remaining);
            SetNumber(L, "key_remaining", status.key_remaining);
            SetNumber(L, "concurrent_count", status.concurrent_count);
            lua_setfield(L, -2, "rate_limit_status");
            const std::time_t now = std::time(nullptr);
            std::tm local{};
            localtime_r(&now, &local);
            lua_createtable(L, 0, 3);
            SetNumber(L, "hour", local.tm_hour);
            SetNumber(L, "weekday", local.tm_wday);  // 0 = Sunday, as Go's time.Weekday
            SetNumber(L, "timestamp", static_cast<double>(now));
            lua_setfield(L, -2, "current_time");
        },
        [&](lua_State* L) {
            if (!lua_isnil(L, -1)) answer.value = ReadDecision(L, "rate_limit");
        });
    return answer;
}

Answer<RequestEdit> ScriptSet::RequestTransform(const RequestView& request) {
    Answer<RequestEdit> answer;
    answer.failure = Call(
        Point::kRequestTransform, request.id,
        [&](lua_State* L) { SetRequest(L, request, BodyForm::kTable, vm_.generation()); },
        [&](lua_State* L) {
            if (lua_isnil(L, -1)) return;
            if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "request_transform must return a table or nil");
            RequestEdit edit;
            edit.body = BodyField(L, "body");
            ReadHeaders(L, "headers", edit.headers);
            answer.value = std::move(edit);
        });
    return answer;
}

Answer<std::string> ScriptSet::Usage(const RequestView& request, const UsageView& usage) {
    Answer<std::string> answer;
    answer.failure = Call(
        Point::kUsage, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            lua_createtable(L, 0, 3);
            SetNumber(L, "prompt_tokens", static_cast<double>(usage.prompt_tokens));
            SetNumber(L, "completion_tokens", static_cast<double>(usage.completion_tokens));
            SetNumber(L, "total_tokens", static_cast<double>(usage.total_tokens));
            lua_setfield(L, -2, "usage");
            lua_createtable(L, 0, 1);
            SetString(L, "body", usage.response_body);
            lua_setfield(L, -2, "response");
            lua_createtable(L, 0, 3);
            SetString(L, "backend_url", usage.backend_url);
            SetNumber(L, "latency_ms", usage.latency_ms);
            SetBool(L, "is_stream", usage.is_stream);
            lua_setfield(L, -2, "metadata");
        },
        [&](lua_State* L) {
            if (lua_isnil(L, -1)) return;
            if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "usage must return a table or nil");
            std::string object;
            AppendJson(L, -1, object);
            // A table encodes as an object or an array; only named fields can join the event.
            if (object.front() == '[') luaL_error(L, "usage must return a table of fields");
            answer.value = object.substr(1, object.size() - 2);
        });
    return answer;
}

Answer<ErrorReplacement> ScriptSet::ErrorHandler(const RequestView& request, const ErrorView& error) {
    Answer<ErrorReplacement> answer;
    answer.failure = Call(
        Point::kErrorHandler, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            lua_createtable(L, 0, 5);
            SetString(L, "type", error.type);
            SetString(L, "message", error.message);
            SetNumber(L, "status_code", error.status_code);
            SetString(L, "backend_url", error.backend_url);
            SetNumber(L, "retry_count", error.retry_count);
            lua_setfield(L, -2, "error");
        },
        [&](lua_State* L) {
            if (lua_isnil(L, -1)) return;
            if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "error_handler must return a table or nil");
            ErrorReplacement replacement;
            replacement.status_code = static_cast<unsigned>(NumberField(L, "status_code", 0));
            if (replacement.status_code != 0 && (replacement.status_code < 400 || replacement.status_code > 599)) {
                luaL_error(L, "error_handler: status_code must be 400-599");
            }
            replacement.body = BodyField(L, "body");
            answer.value = std::move(replacement);
        });
    return answer;
}

Answer<std::string> ScriptSet::OnChunk(const RequestView& request, std::string_view events, std::int64_t index) {
    Answer<std::string> answer;
    answer.failure = Call(
        Point::kOnChunk, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            lua_pushlstring(L, events.data(), events.size());
            lua_setfield(L, -2, "chunk");
            SetNumber(L, "chunk_index", static_cast<double>(index));
        },
        [&](lua_State* L) {
            if (lua_type(L, -1) == LUA_TSTRING) answer.value = lua_tostring(L, -1);
        });
    return answer;
}

Answer<ResponseEdit> ScriptSet::ResponseTransform(const RequestView& request, const ResponseView& response) {
    Answer<ResponseEdit> answer;
    answer.failure = Call(
        Point::kResponseTransform, request.id,
        [&](lua_State* L) {
            SetRequest(L, request, BodyForm::kTable, vm_.generation());
            lua_createtable(L, 0, 4);
            SetNumber(L, "status_code", response.status_code);
            SetString(L, "raw_body", response.body);
            std::string ignored;
            if (!PushJson(L, response.body, ignored)) lua_pushlstring(L, response.body.data(), response.body.size());
            lua_setfield(L, -2, "body");
            if (response.headers) {
                PushHeaders(L, *response.headers);
            } else {
                lua_newtable(L);
            }
            lua_setfield(L, -2, "headers");
            lua_setfield(L, -2, "response");
            SetString(L, "backend_url", response.backend_url);
            SetNumber(L, "latency_ms", response.latency_ms);
        },
        [&](lua_State* L) {
            if (lua_isnil(L, -1)) return;
            if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "response_transform must return a table or nil");
            ResponseEdit edit;
            edit.status_code = static_cast<unsigned>(NumberField(L, "status_code", 0));
            if (edit.status_code != 0 && (edit.status_code < 200 || edit.status_code > 599)) {
                luaL_error(L, "response_transform: status_code must be 200-599");
            }
            edit.body = BodyField(L, "body");
            ReadHeaders(L, "headers", edit.headers);
            answer.value = std::move(edit);
        });
    return answer;
}

}  // namespace llmproxy::script
