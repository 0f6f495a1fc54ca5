#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace csms {

// Issues one unary call through gRPC's callback API without blocking a thread. `start` binds
// the stub method, e.g.
//   [&](auto* ctx, auto* req, auto* resp, auto cb) { stub->async()->Get(ctx, req, resp, cb); }
// `done` runs once, on a gRPC thread. `metadata` is added to the call (lower-case keys).
template <typename Request, typename Response, typename Start>
void CallUnaryAsync(Start&& start, Request request, std::chrono::milliseconds timeout,
                    std::function<void(const grpc::Status&, const Response&)> done,
                    const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  struct State {
    grpc::ClientContext context;
    Request request;
    Response response;
    std::function<void(const grpc::Status&, const Response&)> done;
  };
  auto state = std::make_shared<State>();
  state->request = std::move(request);
  state->done = std::move(done);
  state->context.set_deadline(std::chrono::system_clock::now() + timeout);
  for (const auto& [key, value] : metadata) state->context.AddMetadata(key, value);
  // The callback releases `state` itself: if the last reference died with gRPC's copy of the
  // callback, the ClientContext would be destroyed inside the call's own teardown (double unref).
  start(&state->context, &state->request, &state->response, [state](grpc::Status status) mutable {
    auto owned = std::move(state);
    owned->done(status, owned->response);
  });
}

}  // namespace csms
