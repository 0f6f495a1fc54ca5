#pragma once

#include <grpcpp/grpcpp.h>

#include "csms/common/api_auth.h"
#include "csms/control/token_store.h"
#include "csms/control/v1/tokens.grpc.pb.h"

namespace csms::control {

// csms.control.v1.TokenService on the gRPC callback API (tokens.proto). Every method checks its
// caller itself (operator_call.h AuthorizeCaller): read for GetToken, ListTokens and
// ListTokenAudit, operate for PutToken, DeleteToken and ImportTokens.
class TokenServiceImpl final : public v1::TokenService::CallbackService {
 public:
  // `auth` null or disabled: open mode.
  TokenServiceImpl(TokenStore& store, auth::Authenticator* auth) : store_(store), auth_(auth) {}

  grpc::ServerUnaryReactor* PutToken(grpc::CallbackServerContext* context,
                                     const v1::PutTokenRequest* request,
                                     v1::PutTokenResponse* response) override;
  grpc::ServerUnaryReactor* GetToken(grpc::CallbackServerContext* context,
                                     const v1::GetTokenRequest* request,
                                     v1::Token* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const v1::ListTokensRequest* request,
                                       v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* DeleteToken(grpc::CallbackServerContext* context,
                                        const v1::DeleteTokenRequest* request,
                                        v1::Token* response) override;
  grpc::ServerUnaryReactor* ImportTokens(grpc::CallbackServerContext* context,
                                         const v1::ImportTokensRequest* request,
                                         v1::ImportTokensResponse* response) override;
  grpc::ServerUnaryReactor* ListTokenAudit(grpc::CallbackServerContext* context,
                                           const v1::ListTokenAuditRequest* request,
                                           v1::ListTokenAuditResponse* response) override;

 private:
  TokenStore& store_;
  auth::Authenticator* auth_;
};

// The token a PutTokenRequest describes (not yet validated).
TokenRecord TokenFromPut(const v1::PutTokenRequest& request);

}  // namespace csms::control
