#include "script/library.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <lua.hpp>
#include <string>
#include <string_view>

#include "script/lua_json.hpp"
#include "script/lua_vm.hpp"

namespace llmproxy::script {
namespace {

std::string_view Arg(lua_State* L, int index) {
    std::size_t size = 0;
    const char* s = luaL_checklstring(L, index, &size);
    return {s, size};
}

void PushView(lua_State* L, std::string_view s) {
    lua_pushlstring(L, s.data(), s.size());
}

// --- json ---------------------------------------------------------------------------------

int JsonEncode(lua_State* L) {
    luaL_checkany(L, 1);
    std::string out;
    AppendJson(L, 1, out);
    PushView(L, out);
    return 1;
}

// Returns nil, message on malformed input (the Go LLMProxy's contract).
int JsonDecode(lua_State* L) {
    std::string error;
    if (PushJson(L, Arg(L, 1), error)) return 1;
    lua_pushnil(L);
    PushView(L, error);
    return 2;
}

// --- string_utils -------------------------------------------------------------------------

constexpr std::string_view kSpace = " \t\r\n\f\v";

int Split(lua_State* L) {
    const std::string_view s = Arg(L, 1);
    const std::string_view sep = luaL_optlstring(L, 2, ",", nullptr);
    lua_newtable(L);
    int n = 0;
    if (sep.empty()) {  // every character
        for (char c : s) {
            lua_pushlstring(L, &c, 1);
            lua_rawseti(L, -2, ++n);
        }
        return 1;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t at = s.find(sep, start);
        PushView(L, s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        lua_rawseti(L, -2, ++n);
        if (at == std::string_view::npos) return 1;
        start = at + sep.size();
    }
}

int Trim(lua_State* L) {
    std::string_view s = Arg(L, 1);
    const auto first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        lua_pushliteral(L, "");
        return 1;
    }
    s = s.substr(first, s.find_last_not_of(kSpace) - first + 1);
    PushView(L, s);
    return 1;
}

int StartsWith(lua_State* L) {
    return lua_pushboolean(L, Arg(L, 1).starts_with(Arg(L, 2))), 1;
}
int EndsWith(lua_State* L) {
    return lua_pushboolean(L, Arg(L, 1).ends_with(Arg(L, 2))), 1;
}
int Contains(lua_State* L) {
    return lua_pushboolean(L, Arg(L, 1).find(Arg(L, 2)) != std::string_view::npos), 1;
}

template <int (*Convert)(int)>
int MapChars(lua_State* L) {
    std::string s(Arg(L, 1));
    for (char& c : s) c = static_cast<char>(Convert(static_cast<unsigned char>(c)));
    PushView(L, s);
    return 1;
}

// --- time ---------------------------------------------------------------------------------

// Go's reference layout ("2006-01-02 15:04:05") to strftime; a layout with % is strftime already.
std::string StrftimeOf(std::string_view layout) {
    if (layout.find('%') != std::string_view::npos) return std::string(layout);
    static constexpr std::pair<std::string_view, std::string_view> kTokens[] = {
        {"2006", "%Y"}, {"Jan", "%b"}, {"Mon", "%a"}, {"MST", "UTC"},  {"01", "%m"}, {"02", "%d"},
        {"15", "%H"},   {"04", "%M"},  {"05", "%S"},  {"Z07:00", "Z"}, {"06", "%y"}};
    std::string out;
    for (std::size_t i = 0; i < layout.size();) {
        bool matched = false;
        for (const auto& [go, c] : kTokens) {
            if (layout.substr(i).starts_with(go)) {
                out += c;
                i += go.size();
                matched = true;
                break;
            }
        }
        if (!matched) out += layout[i++];
    }
    return out;
}

constexpr std::string_view kDefaultLayout = "2006-01-02 15:04:05";

int TimeNow(lua_State* L) {
    return lua_pushnumber(L, static_cast<double>(std::time(nullptr))), 1;
}

int TimeFormat(lua_State* L) {
    const auto ts = static_cast<std::time_t>(luaL_optnumber(L, 1, static_cast<double>(std::time(nullptr))));
    const std::string format = StrftimeOf(luaL_optstring(L, 2, kDefaultLayout.data()));
    std::tm utc{};
    gmtime_r(&ts, &utc);
    char buffer[256];
    const std::size_t size = std::strftime(buffer, sizeof buffer, format.c_str(), &utc);
    lua_pushlstring(L, buffer, size);
    return 1;
}

// Returns 0, message when the text does not match the layout (the Go LLMProxy's contract).
int TimeParse(lua_State* L) {
    const std::string text(Arg(L, 1));
    const std::string format = StrftimeOf(luaL_optstring(L, 2, kDefaultLayout.data()));
    std::tm utc{};
    const char* end = strptime(text.c_str(), format.c_str(), &utc);
    if (!end || *end != '\0') {
        lua_pushnumber(L, 0);
        lua_pushfstring(L, "cannot parse \"%s\" as \"%s\"", text.c_str(), format.c_str());
        return 2;
    }
    lua_pushnumber(L, static_cast<double>(timegm(&utc)));
    return 1;
}

// --- hash, base64 -------------------------------------------------------------------------

void PushHex(lua_State* L, const unsigned char* bytes, unsigned size) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex(size * 2, '0');
    for (unsigned i = 0; i < size; ++i) {
        hex[2 * i] = kHex[bytes[i] >> 4];
        hex[2 * i + 1] = kHex[bytes[i] & 15];
    }
    PushView(L, hex);
}

template <const EVP_MD* (*Md)()>
int Digest(lua_State* L) {
    const std::string_view data = Arg(L, 1);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_Digest(data.data(), data.size(), out, &size, Md(), nullptr);
    PushHex(L, out, size);
    return 1;
}

// hmac_sha256(key, message [, "raw"]): hex, or the raw 32 bytes.
int HmacSha256(lua_State* L) {
    const std::string_view key = Arg(L, 1), message = Arg(L, 2);
    const bool raw = lua_gettop(L) >= 3 && std::string_view(luaL_optstring(L, 3, "")) == "raw";
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
         message.size(), out, &size);
    if (raw) {
        lua_pushlstring(L, reinterpret_cast<const char*>(out), size);
    } else {
        PushHex(L, out, size);
    }
    return 1;
}

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

template <bool Url>
int Base64Encode(lua_State* L) {
    const std::string_view in = Arg(L, 1);
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, in.size() - i);
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 3; ++j) v = (v << 8) | (j < n ? static_cast<unsigned char>(in[i + j]) : 0);
        for (std::size_t j = 0; j < 4; ++j) {
            if (j <= n) {
                char c = kBase64[(v >> (18 - 6 * j)) & 63];
                if (Url && c == '+') c = '-';
                if (Url && c == '/') c = '_';
                out += c;
            } else if (!Url) {
                out += '=';
            }
        }
    }
    PushView(L, out);
    return 1;
}

// Standard or URL alphabet, padding optional; nil on a bad character.
int Base64Decode(lua_State* L) {
    const std::string_view in = Arg(L, 1);
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : in) {
        int v;
        if (c == '=') break;
        if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else if (const auto at = kBase64.find(c); at != std::string_view::npos)
            v = static_cast<int>(at);
        else {
            lua_pushnil(L);
            return 1;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        if (++count == 4) {
            out += static_cast<char>(bits >> 16);
            out += static_cast<char>(bits >> 8);
            out += static_cast<char>(bits);
            bits = 0;
            count = 0;
        }
    }
    if (count == 2) out += static_cast<char>(bits >> 4);
    if (count == 3) {
        out += static_cast<char>(bits >> 10);
        out += static_cast<char>(bits >> 2);
    }
    PushView(L, out);
    return 1;
}

// --- log, clocks, uuid --------------------------------------------------------------------

// Joins the arguments with spaces (tostring semantics for numbers, booleans, nil).
std::string Message(lua_State* L, int from) {
    std::string text;
    for (int i = from; i <= lua_gettop(L); ++i) {
        if (i > from) text += ' ';
        if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER) {
            std::size_t size = 0;
            const char* s = lua_tolstring(L, i, &size);
            text.append(s, size);
        } else if (lua_type(L, i) == LUA_TBOOLEAN) {
            text += lua_toboolean(L, i) ? "true" : "false";
        } else {
            text += luaL_typename(L, i);
        }
    }
    return text;
}

template <spdlog::level::level_enum Level>
int Log(lua_State* L) {
    const std::string text = Message(L, 1);
    const std::string_view id = LuaVm::Of(L).request_id;
    spdlog::log(Level, "script [{}]: {}", id.empty() ? "-" : id, text);
    return 0;
}

int LogCall(lua_State* L) {  // log(msg): the table's __call, the table itself is argument 1
    lua_remove(L, 1);
    return Log<spdlog::level::info>(L);
}

std::int64_t UnixMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int Now(lua_State* L) {
    return lua_pushnumber(L, static_cast<double>(UnixMs() / 1000)), 1;
}
int NowMs(lua_State* L) {
    return lua_pushnumber(L, static_cast<double>(UnixMs())), 1;
}

int GenerateUuid(lua_State* L) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return luaL_error(L, "no randomness available");
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    lua_pushlstring(L, out, 36);
    return 1;
}

void SetFunctions(lua_State* L, const char* table, std::initializer_list<std::pair<const char*, lua_CFunction>> fns) {
    lua_newtable(L);
    for (const auto& [name, fn] : fns) {
        lua_pushcfunction(L, fn);
        lua_setfield(L, -2, name);
    }
    if (table) lua_setglobal(L, table);
}

}  // namespace

void OpenLibrary(lua_State* L) {
    RegisterJsonArrayMarker(L);
    SetFunctions(L, "json", {{"encode", JsonEncode}, {"decode", JsonDecode}});
    SetFunctions(L, "string_utils",
                 {{"split", Split},
                  {"trim", Trim},
                  {"starts_with", StartsWith},
                  {"ends_with", EndsWith},
                  {"contains", Contains},
                  {"lower", MapChars<::tolower>},
                  {"upper", MapChars<::toupper>}});
    SetFunctions(L, "time", {{"now", TimeNow}, {"format", TimeFormat}, {"parse", TimeParse}});
    SetFunctions(L, "hash", {{"md5", Digest<EVP_md5>}, {"sha256", Digest<EVP_sha256>}, {"hmac_sha256", HmacSha256}});
    SetFunctions(L, "base64",
                 {{"encode", Base64Encode<false>},
                  {"decode", Base64Decode},
                  {"url_encode", Base64Encode<true>},
                  {"url_decode", Base64Decode}});
    // log: a table of levels that can also be called.
    SetFunctions(L, nullptr,
                 {{"debug", Log<spdlog::level::debug>},
                  {"info", Log<spdlog::level::info>},
                  {"warn", Log<spdlog::level::warn>},
                  {"error", Log<spdlog::level::err>}});
    lua_newtable(L);
    lua_pushcfunction(L, LogCall);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "log");
    lua_pushcfunction(L, Log<spdlog::level::info>);
    lua_setglobal(L, "print");
    for (const auto& [name, fn] :
         {std::pair<const char*, lua_CFunction>{"now", Now}, {"now_ms", NowMs}, {"generate_uuid", GenerateUuid}}) {
        lua_pushcfunction(L, fn);
        lua_setglobal(L, name);
    }
    lua_newtable(L);
    lua_setglobal(L, "shared");
}

}  // namespace llmproxy::script
