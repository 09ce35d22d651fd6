# syntax=docker/dockerfile:1
# Arbor: one image for every process. The default command serves the API; the same image runs
#   node dist/cli.js migrate            database migrations (before the API starts, after every upgrade)
#   node dist/cli.js <command>          the admin CLI (create-superuser, reset-password, unlock, ...)
#   node dist/worker.js                 the background worker (job queue on Redis)
# Build:  docker build -t arbor:0.1.0 .

ARG NODE_IMAGE=node:20.19-bookworm-slim

# --- build: install every dependency, compile TypeScript, then keep only the runtime dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Compilers, in case a native addon (argon2, better-sqlite3) has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# Not `npm ci`: the lockfile lacks other platforms' optional packages (see README); `npm install`
# installs the locked versions.
RUN npm install --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime: no compilers, no dev dependencies, no sources, not root -------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown 1000:1000 /data
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    SQLITE_PATH=/data/arbor.sqlite
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official image's "node" user (uid/gid 1000), by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# The embedded SQLite file lives here when no DATABASE_URL is given (single-container use).
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/ping/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
