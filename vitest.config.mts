import { defineConfig } from "vitest/config";

// Property tests (fast-check, thousands of engine steps with m.check() after each) take seconds; on a
// two-CPU CI runner with every suite in parallel they can take several times longer. The limit is a
// hang guard, not a speed target: speed lives in `npm run bench`.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
