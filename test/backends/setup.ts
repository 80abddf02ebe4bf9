/**
 * Vitest setup: `POOLKIT_TEST_STORAGE=detach` runs the tests on a linear heap that detaches every
 * earlier typed-array view on each allocation (as WebAssembly memory growth does), with the kernels
 * of `POOLKIT_BACKEND` (default "js"). A view kept across an allocation then reads as an empty array.
 */
import { useDetachingStorage, type BackendName } from "../../src/backends/index.js";

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
if (env.POOLKIT_TEST_STORAGE === "detach") useDetachingStorage((env.POOLKIT_BACKEND as BackendName | undefined) ?? "js");
