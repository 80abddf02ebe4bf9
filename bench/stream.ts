// The bandwidth floor of bench/workloads.mjs: one plain pass over WebAssembly memory that reads `nIn`
// float32 with v128 loads (OR-accumulated into four registers, so the loads cannot be dropped) and
// then writes `nOut` float32 with v128 stores — what any one-thread SIMD kernel reading a workload's
// input and writing its output must at least do, in the same medium (wasm memory, 128-bit vectors,
// ordinary stores). Compiled at bench time by bench/workloads.mjs with AssemblyScript (--enable simd).
// nIn and nOut are multiples of 16 here (the workloads' sizes are). AssemblyScript, not TypeScript:
// tsconfig.test.json excludes this file (as it leaves out assembly/).

export function stream(src: usize, nIn: i32, dst: usize, nOut: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const endIn = src + (<usize>nIn << 2);
  for (let p = src; p + 64 <= endIn; p += 64) {
    a0 = v128.or(a0, v128.load(p));
    a1 = v128.or(a1, v128.load(p, 16));
    a2 = v128.or(a2, v128.load(p, 32));
    a3 = v128.or(a3, v128.load(p, 48));
  }
  const v = v128.or(v128.or(a0, a1), v128.or(a2, a3));
  const endOut = dst + (<usize>nOut << 2);
  for (let p = dst; p + 64 <= endOut; p += 64) {
    v128.store(p, v);
    v128.store(p, v, 16);
    v128.store(p, v, 32);
    v128.store(p, v, 48);
  }
  return f32x4.extract_lane(v, 0);
}
