/** Element types a {@link Tensor} can hold. Floating ops compute in the input's dtype. */
export type DType = "float32" | "float64" | "int32";
export type FloatDType = "float32" | "float64";
export type FloatArray = Float32Array | Float64Array;
export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ["float32", "float64", "int32"];

export function isDType(x: unknown): x is DType {
  return x === "float32" || x === "float64" || x === "int32";
}

export function isFloatDType(x: DType): x is FloatDType {
  return x === "float32" || x === "float64";
}

/** The dtype that a typed array stores. */
export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  return "int32";
}
