#include "server/admin/http_server.h"

#include <chrono>

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace nasd::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// One connection: read a request, answer it, repeat while keep-alive.
class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session> {
 public:
  Session(tcp::socket socket, HttpServer& server)
      : stream_(std::move(socket)), server_(server), open_(server.open_) {}
  // Sessions still pending when the server stops die with its io_context,
  // so the count they decrement is shared.
  ~Session() { --*open_; }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(0);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec) {  // closed, timed out or malformed: just close
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    const auto& req = parser_->get();
    response_ = {};
    response_.version(req.version());
    response_.keep_alive(req.keep_alive());
    response_.set(http::field::server, "nasd");
    HttpResponse r;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      r = {405, "text/plain; charset=utf-8", "method not allowed\n"};
      response_.set(http::field::allow, "GET, HEAD");
    } else {
      std::string target(req.target());
      target = target.substr(0, target.find('?'));
      auto it = server_.routes_.find(target);
      if (it == server_.routes_.end()) {
        r = {404, "text/plain; charset=utf-8", "not found\n"};
      } else {
        r = it->second();
      }
    }
    response_.result(r.status);
    response_.set(http::field::content_type, r.content_type);
    response_.body() = req.method() == http::verb::head ? std::string() : std::move(r.body);
    response_.prepare_payload();
    if (req.method() == http::verb::head) response_.content_length(r.body.size());
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  HttpServer& server_;
  std::shared_ptr<std::atomic<int>> open_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
};

HttpServer::HttpServer(const ListenAddress& address, std::map<std::string, HttpHandler> routes)
    : acceptor_(io_), routes_(std::move(routes)) {
  tcp::endpoint ep(address.address, address.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

HttpServer::~HttpServer() {
  boost::asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
  thread_.join();
}

void HttpServer::accept() {
  acceptor_.async_accept(boost::asio::make_strand(io_), [this](beast::error_code ec,
                                                               tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (open_->load() >= kMaxConnections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        ++*open_;
        std::make_shared<Session>(std::move(socket), *this)->start();
      }
    }
    accept();
  });
}

}  // namespace nasd::server
