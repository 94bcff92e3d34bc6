# The bedrock-embed gateway (POST /v1/embeddings) as a container.
#
#   docker build -t bedrock-embed .
#   docker run --rm -p 4000:4000 -v "$PWD/config.yaml:/config/config.yaml:ro" \
#     -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN bedrock-embed
#
# The image holds the packages as a user installs them: the workspace is built and packed in the
# first stage, and only the tarballs are installed, with npm, into the second (no workspace links,
# no dev dependencies). CI's consumer smoke (scripts/consumer-smoke.sh) runs this file's
# ENTRYPOINT + CMD from the same tarballs, so the command below is the one CI proves.

FROM node:24-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm run build \
 && mkdir /tarballs \
 && for p in core provider-titan provider-cohere provider-nova provider-twelvelabs bedrock-embed proxy; do \
      (cd "packages/$p" && pnpm pack --pack-destination /tarballs) || exit 1; \
    done

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /tarballs /tmp/tarballs
RUN npm init -y > /dev/null \
 && npm install --omit=dev --no-audit --no-fund /tmp/tarballs/*.tgz "effect@^4.1.0" \
 && rm -rf /tmp/tarballs \
 && npm cache clean --force \
 && mkdir /config && chown node:node /config
# The image's own unprivileged user (uid 1000), not root.
USER node
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/health/liveliness').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Mount your LiteLLM-style config at /config/config.yaml; the gateway stops cleanly on SIGTERM.
# /config belongs to the node user: the disk cache and the key database are kept next to the config.
ENTRYPOINT ["/app/node_modules/.bin/bedrock-embed"]
CMD ["serve", "--config", "/config/config.yaml", "--host", "0.0.0.0", "--port", "4000"]
