// Separate compilation of Asio, Asio.SSL and Beast: their implementation is compiled once here
// instead of in every translation unit (BOOST_ASIO_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
