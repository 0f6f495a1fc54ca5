#pragma once

// Helpers for services that front a gRPC service implementation with API-key checks: each
// macro defines one override in a class with members `impl_` (the real service) and `auth_`
// (a csms::auth::Authenticator&), checking the caller's role before delegating.

#include <grpcpp/grpcpp.h>

#include "csms/common/api_auth.h"

#define CSMS_AUTHED_SYNC(Method, Request, Response, required)                           \
  grpc::Status Method(grpc::ServerContext* c, const Request* q, Response* r) override { \
    if (auto s = auth_.CheckGrpc(*c, required, #Method); !s.ok()) return s;             \
    return impl_.Method(c, q, r);                                                       \
  }
#define CSMS_AUTHED_CALLBACK(Method, Request, Response, required)                                 \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* c, const Request* q, Response* r) \
      override {                                                                                  \
    if (auto s = auth_.CheckGrpc(*c, required, #Method); !s.ok()) {                               \
      auto* reactor = c->DefaultReactor();                                                        \
      reactor->Finish(s);                                                                         \
      return reactor;                                                                             \
    }                                                                                             \
    return impl_.Method(c, q, r);                                                                 \
  }
