#pragma once
// A Beast body type for relaying responses without copying them: the parser hands the body's
// bytes (content-length, or each chunk of a chunked body, decoded) as views into the
// connection's own read buffer. They stay valid until the next read on that connection, which
// the relay starts only after it has written them on: so an upstream response costs one read
// buffer per connection and no copy, whatever its length.
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "http/asio_types.hpp"

namespace llmproxy::upstream {

struct RelayBody {
    struct value_type {
        // What the last read delivered, in order: inline for the usual few pieces (one per
        // chunk of a chunked body), so a response's reads cost no allocation.
        boost::container::small_vector<std::string_view, 8> pieces;
        void clear() { pieces.clear(); }
    };

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>&, error_code& ec) { ec = {}; }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
            std::size_t n = 0;
            for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
                const asio::const_buffer b = *it;
                if (b.size() == 0) continue;
                body_.pieces.emplace_back(static_cast<const char*>(b.data()), b.size());
                n += b.size();
            }
            ec = {};
            return n;
        }

        void finish(error_code& ec) { ec = {}; }

    private:
        value_type& body_;
    };
};

}  // namespace llmproxy::upstream
