#include "store/redis_protocol.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

namespace llmproxy::store {

void AppendCommand(std::string& out, const std::vector<std::string>& args) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto& a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
}

RedisReplyParser::RedisReplyParser() : reader_(redisReaderCreate()) {
    if (!reader_) throw std::bad_alloc();
}

RedisReplyParser::~RedisReplyParser() {
    redisReaderFree(reader_);
}

bool RedisReplyParser::Feed(std::string_view bytes) {
    return redisReaderFeed(reader_, bytes.data(), bytes.size()) == REDIS_OK;
}

int RedisReplyParser::Next(RedisReply& out) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return -1;
    if (raw == nullptr) return 0;
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
    out = RedisReply{};
    switch (reply->type) {
        case REDIS_REPLY_ERROR:
            out.kind = RedisReply::Kind::kError;
            out.text.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.kind = RedisReply::Kind::kInteger;
            out.integer = reply->integer;
            break;
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
            out.kind = RedisReply::Kind::kString;
            out.text.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_ARRAY:
            out.kind = RedisReply::Kind::kArray;
            for (std::size_t i = 0; i < reply->elements; ++i) {
                const redisReply* e = reply->element[i];
                out.integers.push_back(e->type == REDIS_REPLY_INTEGER ? e->integer : 0);
                if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) {
                    out.strings.resize(i + 1);  // only replies with strings pay for the list
                    out.strings[i].assign(e->str, e->len);
                }
            }
            if (!out.strings.empty()) out.strings.resize(reply->elements);
            break;
        default:
            out.kind = RedisReply::Kind::kNil;
            break;
    }
    return 1;
}

std::string ScriptSha1(std::string_view script) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

}  // namespace llmproxy::store
