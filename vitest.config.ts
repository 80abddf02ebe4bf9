import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Two projects: the whole suite on the default backend, and the contract, op and backend tests again
// on storage that detaches every earlier typed-array view on each allocation (test/backends/setup.ts),
// so an op or test that keeps a view across an allocation fails here instead of on the day
// WebAssembly memory happens to grow.
export default defineConfig({
  test: {
    setupFiles: ["test/backends/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // every core: the default leaves one to the main process, which mostly waits (on 2 cores the
    // suite then ran one file at a time)
    maxWorkers: availableParallelism(),
    projects: [
      { extends: true, test: { name: "default", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "detach",
          include: ["test/contract.test.ts", "test/ops/**/*.test.ts", "test/kernels/**/*.test.ts", "test/backends/**/*.test.ts"],
          // the build checks compile the AssemblyScript sources (minutes): storage does not enter them
          exclude: ["test/backends/wasm-build.test.ts", "test/backends/threads-build.test.ts"],
          env: { POOLKIT_TEST_STORAGE: "detach", POOLKIT_BACKEND: "wasm-simd" },
        },
      },
    ],
  },
});
