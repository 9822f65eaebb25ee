// libFuzzer target: the multipart/form-data field finder (the `model` of an upload). The first
// input byte picks the boundary's length; the rest is the body. Properties: a found value is
// within its bound and is the content of a part of the body (the bytes right after a blank
// line); an ambiguous or absent answer carries no value; the answer does not depend on bytes
// after the close delimiter.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/multipart_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string boundary(1 + data[0] % 16, 'b');
    const std::string ct = "multipart/form-data; boundary=" + boundary;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    using llmproxy::proxy::MultipartField;
    const MultipartField f = llmproxy::proxy::FindMultipartField(body, ct, "model", 64);
    if (f.outcome != MultipartField::kFound && !f.value.empty()) __builtin_trap();
    if (f.outcome == MultipartField::kFound) {
        if (f.value.size() > 64) __builtin_trap();
        if (body.find("\r\n\r\n" + f.value) == std::string_view::npos) __builtin_trap();
    }
    // Whatever follows the close delimiter is not part of the form.
    const std::string close = "--" + boundary + "--";
    const std::size_t end = body.find(close);
    if (end != std::string_view::npos && (end == 0 || (end >= 2 && body.substr(end - 2, 2) == "\r\n"))) {
        const std::string cut = std::string(body.substr(0, end + close.size())) + "\r\n--" + boundary +
                                "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nlate\r\n";
        const MultipartField again = llmproxy::proxy::FindMultipartField(cut, ct, "model", 64);
        if (again.outcome != f.outcome && f.outcome != MultipartField::kAmbiguous) __builtin_trap();
    }
    return 0;
}
