/**
 * Kernel dispatch: ops call `kernel(name, dtype, fallback)` with their TypeScript kernel as the
 * fallback. A faster backend (WebAssembly SIMD over tensors in linear memory) registers a
 * replacement per kernel name and dtype with `registerKernel`, without any change to the ops' API.
 * Kernels receive storage and a geometry plan, never option objects.
 */
import type { DType } from "../tensor/dtype.js";

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const overrides = new Map<string, Function>();

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function kernel<F extends Function>(name: string, dtype: DType, fallback: F): F {
  if (overrides.size === 0) return fallback;
  return (overrides.get(`${name}:${dtype}`) as F | undefined) ?? fallback;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function registerKernel(name: string, dtype: DType, impl: Function): void {
  overrides.set(`${name}:${dtype}`, impl);
}

export function unregisterKernel(name: string, dtype: DType): void {
  overrides.delete(`${name}:${dtype}`);
}
