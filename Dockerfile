# One image for the project's processes. The api and tally run on Bun; the Temporal
# worker runs on Node (the SDK's supported runtime for workers), from the same files.
FROM oven/bun:1.4.4-debian AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY . .
# Scripts were skipped above; the one the project needs is its patch of kafkajs (patches/).
RUN npx patch-package
RUN bun services/worker/build.ts

FROM oven/bun:1.4.4-debian
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
ENV NODE_ENV=production WORKFLOW_BUNDLE=/app/.build/worker/workflow-bundle.js
USER bun
# docker-compose.yml picks the process: `bun services/api/main.ts`,
# `bun services/tally/main.ts` or `node .build/worker/main.js`.
CMD ["bun", "services/api/main.ts"]
