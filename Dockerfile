# Multi-stage build on Debian 12 (the same packages scripts/install-deps.sh installs).
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev libssl-dev \
      libsimdjson-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev ca-certificates \
      libsqlite3-dev libpq-dev libhiredis-dev libpcre2-dev nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN bash /src/scripts/fetch-tokenizer-data.sh \
    && cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLP_BUILD_TESTS=OFF -DLP_PORTABLE=ON \
         -DLP_TOKENIZER_DIR=/usr/local/share/llm-proxy/tokenizer \
    && cmake --build /build --target llm-proxy mock_upstream

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 libyaml-cpp0.7 \
      libspdlog1.10 libfmt9 libboost-url1.81.0 libboost-json1.81.0 libsimdjson14 \
      libsqlite3-0 libpq5 libhiredis0.14 libpcre2-8-0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/llm-proxy /build/mock_upstream /usr/local/bin/
COPY --from=build /src/third_party/tiktoken/node_modules/tiktoken/encoders/cl100k_base.json \
     /src/third_party/tiktoken/node_modules/tiktoken/encoders/o200k_base.json /usr/local/share/llm-proxy/tokenizer/
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/llm-proxy"]
CMD ["--config", "/etc/llm-proxy/config.yaml"]
