import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Under ONESTEP_BACKEND=webgpu without a GPU, Dawn runs on Mesa's software rasteriser: training
    // tests that take seconds on the CPU backend take minutes there.
    testTimeout: process.env.ONESTEP_BACKEND === 'webgpu' ? 900_000 : 120_000,
  },
});
