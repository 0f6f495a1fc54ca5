# CSMS container images: one build, one runtime base holding every binary, and one small target per
# service that only picks the command, the ports and the health check. The service targets share
# every layer, so four images cost one runtime layer set.
#
#   docker build --target gateway     -t csms-gateway:dev     .
#   docker build --target control     -t csms-control:dev     .
#   docker build --target billing     -t csms-billing:dev     .
#   docker build --target charger-sim -t csms-charger-sim:dev .
#   docker build --target secrets     -t csms-secrets:dev     .   # compose's one-shot set-up
#
# docker-compose.yml builds all five; docs/deploy.md has the details.

ARG DEBIAN_IMAGE=debian:bookworm

# ---------------------------------------------------------------------------------------------
# build: the Debian 12 packages of scripts/install-deps.sh that compiling needs (the test
# database, clang/libFuzzer and chromium are left out: tests and bench are not built here). Node
# and npm bundle the dashboard (dashboard/, esbuild) that the gateway embeds; python3 generates
# the OCPP message model from the schemas (tools/ocpp-codegen).
# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto \
      libboost-dev libssl-dev nlohmann-json3-dev libpqxx-dev libpq-dev libabsl-dev \
      libgtest-dev libgmock-dev nodejs npm python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --prefix dashboard --no-audit --no-fund
# BUILD_JOBS: the gateway's Beast translation unit needs ~1.6 GB at -O3; lower it on small hosts.
ARG BUILD_JOBS=
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCSMS_SKIP=tests;bench" \
 && cmake --build /build -j"${BUILD_JOBS:-$(nproc)}" \
      --target csms-gateway csms-control csms-billing csms-charger-sim \
 && install -d /out \
 && install -m 0755 -s \
      /build/gateway/csms-gateway \
      /build/control-service/csms-control \
      /build/billing-service/csms-billing \
      /build/tools/charger-sim/csms-charger-sim \
      /out/

# ---------------------------------------------------------------------------------------------
# runtime: the shared libraries the binaries link (found with ldd + dpkg -S on the built
# binaries; apt pulls the rest of the closure: libgrpc29, libabsl20220623, libre2-9, libc-ares2,
# libpq5 and its Kerberos/LDAP libraries). The OCPP schemas are embedded in the gateway, and the
# billing time zone is resolved by PostgreSQL, so no data files or tzdata are needed.
# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime
# runtime-packages-begin (scripts/validate-deploy.sh checks that these cover every ldd dependency)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libpqxx-6.4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# runtime-packages-end
RUN groupadd --system --gid 10001 csms \
 && useradd --system --uid 10001 --gid csms --home-dir /var/lib/csms --no-create-home \
      --shell /usr/sbin/nologin csms \
 && install -d -o csms -g csms -m 0750 /var/lib/csms /var/lib/csms/outbox /var/lib/csms/trace \
 && install -d -o csms -g csms -m 0700 /var/lib/csms/secrets /var/lib/csms/gateway-secrets \
      /var/lib/csms/control-secrets /var/lib/csms/admin /var/lib/csms/demo-chargers
COPY --from=build /out/ /usr/local/bin/
COPY deploy/docker/csms-healthcheck /usr/local/bin/csms-healthcheck
WORKDIR /var/lib/csms
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
ENV CSMS_LOG_LEVEL=info
# Each binary stops cleanly on SIGTERM (the default stop signal).

# ---------------------------------------------------------------------------------------------
# secrets: the docker-compose stack's one-shot set-up (service csms-secrets, and demo-provision in
# the demo profile), never a long-running service. It mints the API keys (csms-gateway
# --mint-api-key), makes the OCPP TLS PKI (tools/make-pki.sh, hence openssl) and provisions the
# demo chargers over REST (curl), into named volumes mounted at the folders made above (owned by
# uid 10001, so new volumes inherit that owner). Kubernetes does not use it: see
# deploy/k8s/create-secrets.sh.
# ---------------------------------------------------------------------------------------------
FROM runtime AS secrets
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl curl \
 && rm -rf /var/lib/apt/lists/*
COPY tools/make-pki.sh /usr/local/bin/csms-make-pki
COPY deploy/docker/csms-secrets /usr/local/bin/csms-secrets
USER 10001:10001
HEALTHCHECK NONE
ENTRYPOINT ["/bin/bash", "/usr/local/bin/csms-secrets"]
CMD ["init"]

# ---------------------------------------------------------------------------------------------
# charger-sim: demo/test charging stations (no port, so no health check).
# ---------------------------------------------------------------------------------------------
FROM runtime AS charger-sim
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/csms-charger-sim"]

# ---------------------------------------------------------------------------------------------
# billing: gRPC 50052. Healthy once the port accepts connections, which it does only after
# PostgreSQL answered and the migrations ran (see deploy/docker/csms-healthcheck).
# ---------------------------------------------------------------------------------------------
FROM runtime AS billing
EXPOSE 50052
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/csms-healthcheck", "tcp", "50052", "CSMS_GRPC_LISTEN"]
ENTRYPOINT ["/usr/local/bin/csms-billing"]

# ---------------------------------------------------------------------------------------------
# control: gRPC 50051, same health check as billing.
# ---------------------------------------------------------------------------------------------
FROM runtime AS control
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/csms-healthcheck", "tcp", "50051", "CSMS_GRPC_LISTEN"]
ENTRYPOINT ["/usr/local/bin/csms-control"]

# ---------------------------------------------------------------------------------------------
# gateway: OCPP WebSocket 9000, HTTP 8080 (REST, /healthz, /metrics), ChargerLink gRPC 50053.
# The outbox (CSMS_OUTBOX_DIR) belongs on a volume mounted at /var/lib/csms/outbox (owned by
# uid 10001 in the image, so a new named volume inherits that owner). No VOLUME instruction:
# compose and Kubernetes declare the volume, and no anonymous volumes pile up.
# Last stage, so a plain `docker build .` gives the gateway.
# ---------------------------------------------------------------------------------------------
FROM runtime AS gateway
EXPOSE 9000 8080 50053
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/csms-healthcheck", "http", "8080", "/healthz", "CSMS_HTTP_LISTEN"]
ENTRYPOINT ["/usr/local/bin/csms-gateway"]
