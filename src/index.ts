/**
 * poolkit — every CNN pooling layer, forward and exact backward (vector-Jacobian product).
 * Channels-first tensors `[N, C, ...spatial]`, PyTorch semantics wherever PyTorch has the op.
 */
export { Tensor, tensor, zeros, full, tidy, keep, memory, type NestedArray, type MemoryInfo } from "./tensor/tensor.js";
export { setBackend, getBackend, setThreads, getThreads, type BackendName } from "./backends/index.js";
export type { DType, FloatDType } from "./tensor/dtype.js";
export { Generator, manualSeed, rand, randn } from "./tensor/random.js";
export { PoolkitTypeError, PoolkitRangeError } from "./errors.js";
export type { Op, VJP, Grads } from "./op.js";
export { listPools, getPool, type PoolMethod, type InputSpec, type Category, type AnyOp } from "./registry.js";
export { registerKernel, unregisterKernel, type KernelName, type Kernels } from "./kernels/registry.js";
export * from "./ops/pytorch.js";
export * from "./ops/adaptive.js";
export * from "./ops/novel.js";
export * from "./ops/weighted.js";
export * from "./ops/downstream.js";
export * from "./ops/bilinear.js";
