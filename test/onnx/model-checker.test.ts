/**
 * Whole-model exports pass onnx.checker: scripts/fixtures/onnx_check_models.py (Debian's
 * python3-onnx, full check + strict shape inference) checked exactly these models — the fixture
 * carries each model's sha256, so a changed exporter fails here until the script is rerun.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../tfjs/setup.js";
import { sha256 } from "./cases.js";
import { checkerModels } from "./modelCases.js";

interface CheckResult {
  id: string;
  sha256: string;
  ok: boolean;
  error?: string;
  declaredOutputs?: (number | string)[][];
  inferredOutputs?: (number | string)[][];
}
const fixture = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "onnx_checker_models.json"), "utf8")) as { onnx: string; models: CheckResult[] };

beforeAll(() => useBackend("cpu"));

describe(`whole-model exports pass onnx.checker (onnx ${fixture.onnx}, full check + strict shape inference)`, () => {
  it("every model of test/onnx/modelCases.ts", () => {
    const byId = new Map(fixture.models.map((r) => [r.id, r]));
    const models = checkerModels();
    expect(models.map((m) => m.id).sort()).toEqual([...byId.keys()].sort());
    for (const { id, model } of models) {
      const r = byId.get(id) as CheckResult;
      expect(sha256(model), `${id}: the model changed since the checker ran; rerun scripts/fixtures/onnx_check_models.py`).toBe(r.sha256);
      expect(r.error, id).toBeUndefined();
      expect(r.ok, id).toBe(true);
      expect(r.inferredOutputs, id).toEqual(r.declaredOutputs);
    }
  });
});
