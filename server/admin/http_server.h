// HttpServer: a small HTTP/1.1 server (Boost.Beast) for the metrics port:
// /metrics, /healthz and /readyz.  It replaces prometheus-cpp's civetweb
// Exposer, which cannot serve handlers other than metric collectables (and
// delays shutdown by up to 2 s).
//
// GET and HEAD only (405 otherwise), unknown paths 404, the query string is
// ignored.  Keep-alive is supported.  Bounds: request header 8 KiB, no request
// body, 10 s to receive a request, at most kMaxConnections open connections
// (further ones are closed at once).  Runs on its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/admin/options.h"

namespace nasd::server {

/// What a route answers.
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Computes a route's response; called on the server's thread.
using HttpHandler = std::function<HttpResponse()>;

class HttpServer {
 public:
  static constexpr int kMaxConnections = 64;

  /// Binds `address` and starts serving `routes` (exact paths, e.g. "/metrics").
  /// Throws std::system_error when the address cannot be bound (start-up).
  HttpServer(const ListenAddress& address, std::map<std::string, HttpHandler> routes);
  /// Stops accepting, closes connections and joins the thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound port (useful when started on port 0).
  std::uint16_t port() const { return port_; }

 private:
  class Session;
  void accept();

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, HttpHandler> routes_;
  std::shared_ptr<std::atomic<int>> open_ = std::make_shared<std::atomic<int>>(0);
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace nasd::server
