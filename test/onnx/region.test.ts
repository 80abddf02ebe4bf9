import { describe, it } from "vitest";
import { tensor } from "../../src/index.js";
import { compareWithPoolkit } from "./ort.js";

// Boxes (batchIndex, x1, y1, x2, y2) in image coordinates covering torchvision's border rules:
// inside, partly outside, tiny, degenerate (x2 < x1), fractional, both images.
const BOXES = tensor(
  [
    [0, 0, 0, 7, 5],
    [1, 1.3, 0.6, 4.2, 3.9],
    [0, -2, -1.5, 3, 2],
    [1, 5.5, 3.5, 9, 8],
    [0, 2, 2, 2.2, 2.1],
    [1, 4, 3, 2, 1],
    [0, 0.25, 0.75, 6.5, 1.25],
  ],
  [7, 5],
);

describe("RoI pooling exported as ONNX MaxRoiPool / RoiAlign-16 matches poolkit (torchvision semantics)", () => {
  it("RoIPool: rounding, empty and clipped bins, both images, spatialScale", async () => {
    for (const spatialScale of [1, 0.5]) {
      for (const outputSize of [2, [3, 2]]) {
        await compareWithPoolkit({ method: "roipool", xShape: [2, 3, 6, 8], options: { outputSize, spatialScale }, inputs: { boxes: BOXES }, exact: true });
      }
    }
  });

  it("RoIAlign: aligned false/true, samplingRatio adaptive (−1, 0) and fixed, spatialScale", async () => {
    for (const aligned of [false, true]) {
      for (const samplingRatio of [-1, 0, 1, 2]) {
        for (const spatialScale of [1, 0.5]) {
          await compareWithPoolkit({
            method: "roialign",
            xShape: [2, 3, 6, 8],
            options: { outputSize: [3, 2], spatialScale, samplingRatio, aligned },
            inputs: { boxes: BOXES },
            rtol: 1e-5,
            atol: 1e-5,
          });
        }
      }
    }
  });
});
