/**
 * The export cases shared by the registry test and the ONNX checker fixture
 * (scripts/fixtures/onnx_check.py runs `npx tsx test/onnx/cases.ts <dir>` to write every case's
 * model, then onnx.checker on each).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Generator, listPools, tensor, type PoolMethod } from "../../src/index.js";
import { NOT_EXPRESSIBLE } from "../../src/onnx/index.js";
import { prepareCase, type CompareCase } from "./ort.js";

/** Max-type methods: ONNX Runtime must reproduce poolkit bit for bit. */
export const EXACT_METHODS = new Set(["Max", "AdaptiveMax", "GlobalMax", "FractionalMax", "RoIPool", "MaxUnpool", "SpatialPyramid"]);

export const SHAPES: Record<1 | 2 | 3, number[]> = { 1: [2, 3, 9], 2: [2, 3, 8, 6], 3: [2, 3, 6, 5, 4] };

/** The registry's example options made inference-ready: eval mode, fixed fractional samples, an ONNX-expressible normalisation. */
export function inferenceOptions(m: PoolMethod, rank: 1 | 2 | 3): Record<string, unknown> {
  const options: Record<string, unknown> = { ...m.defaults };
  if (m.trainEval) options.training = false;
  if (m.name === "Covariance") options.normalization = "newton-schulz";
  if (m.name === "FractionalMax") {
    const gen = new Generator(3);
    const [n, c] = SHAPES[rank] as [number, number];
    options.samples = tensor(Array.from({ length: n * c * rank }, () => gen.uniform()), [n, c, rank]);
  }
  return options;
}

export interface NamedCase extends CompareCase {
  id: string;
}

/** One inference-ready case per registry method and rank (methods ONNX cannot express left out). */
export function registryCases(): NamedCase[] {
  const cases: NamedCase[] = [];
  for (const m of listPools()) {
    if (NOT_EXPRESSIBLE[m.name] !== undefined) continue;
    for (const rank of m.dims) {
      cases.push({ id: `${m.name}-${rank}d`, method: m.name, xShape: SHAPES[rank], options: inferenceOptions(m, rank), exact: EXACT_METHODS.has(m.name) });
    }
  }
  return cases;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// `npx tsx test/onnx/cases.ts <dir>`: write every case's model as <dir>/<id>.onnx and an index.
if (process.argv[1]?.endsWith("cases.ts") && process.argv[2]) {
  const dir = process.argv[2];
  const index: { id: string; file: string; sha256: string }[] = [];
  for (const c of registryCases()) {
    const { model } = prepareCase(c);
    const file = `${c.id}.onnx`;
    writeFileSync(join(dir, file), model);
    index.push({ id: c.id, file, sha256: sha256(model) });
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify(index, null, 2));
}
