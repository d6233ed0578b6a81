# syntax=docker/dockerfile:1
# nginx-jwt-auth: build the TypeScript with the same script the tests use, then run it on a slim
# Node 22 image as a non-root user. No key or secret is baked in: mount them and point *_FILE at them.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY support ./support
COPY test ./test
COPY bench ./bench
COPY scripts ./scripts
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# /keys belongs to the image's unprivileged user, so a named volume mounted there (compose's keygen
# job writes the secret into it) is writable by that user too.
RUN mkdir -p /keys && chown node:node /keys
USER node
# npm start's node flags (test/deploy holds them equal), set after npm ci, which needs more heap: 4 MB
# semi-spaces keep RSS under 100 MB after a million /check requests, where node's defaults reach
# 130-165 MB (BENCHMARKS.md, npm run bench:rss). The 256 MB old-space cap is far above the live heap
# (~20 MB, plus ~50 MB per 100,000 revocations held): a process whose heap reaches it dies.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=256"
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
