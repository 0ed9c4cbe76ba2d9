import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Unit tests are pure and fast; integration tests start servers, tokens and the real binary.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
    testTimeout: 30_000,
    pool: 'forks',
    // Two cores here; more workers only fight for them.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
