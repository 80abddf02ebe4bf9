import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { prepareCase } from "./ort.js";
import { extraModels, registryCases, sha256 } from "./cases.js";

// Written by scripts/fixtures/onnx_check.py (Debian python3-onnx's onnx.checker with full_check and
// strict shape inference) from the models of exactly these cases.
interface CheckResult {
  id: string;
  sha256: string;
  ok: boolean;
  error?: string;
  declaredOutput?: (number | string)[];
  inferredOutput?: (number | string)[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "onnx_checker.json"), "utf8")) as { onnx: string; models: CheckResult[] };

describe(`exported models pass onnx.checker (onnx ${fixture.onnx}, full check + strict shape inference)`, () => {
  const byId = new Map(fixture.models.map((r) => [r.id, r]));
  for (const c of registryCases()) {
    it(c.id, () => {
      const r = byId.get(c.id);
      expect(r, `no checker result for ${c.id}: rerun scripts/fixtures/onnx_check.py`).toBeDefined();
      const { model } = prepareCase(c);
      // The fixture must describe this very model; a changed exporter needs the script rerun.
      expect(sha256(model), `${c.id}: the model changed since the checker ran; rerun scripts/fixtures/onnx_check.py`).toBe(r?.sha256);
      expect(r?.error).toBeUndefined();
      expect(r?.ok).toBe(true);
      expect(r?.inferredOutput).toEqual(r?.declaredOutput);
    });
  }
  for (const { id, model } of extraModels()) {
    it(id, () => {
      const r = byId.get(id);
      expect(r, `no checker result for ${id}: rerun scripts/fixtures/onnx_check.py`).toBeDefined();
      expect(sha256(model), `${id}: the model changed since the checker ran; rerun scripts/fixtures/onnx_check.py`).toBe(r?.sha256);
      expect(r?.error).toBeUndefined();
      expect(r?.ok).toBe(true);
      expect(r?.inferredOutput).toEqual(r?.declaredOutput);
    });
  }
});
