// Barrel of the bilinear ops; each op lives in its own file in this folder.
export { bilinearPool, type BilinearPoolOptions } from "./bilinearPool.js";
export {
  compactBilinearPool,
  compactBilinearParams,
  type CompactBilinearPoolOptions,
  type CompactBilinearParams,
  type CompactBilinearParamsOptions,
  type CompactBilinearMethod,
  type TensorSketchParams,
  type RandomMaclaurinParams,
} from "./compactBilinearPool.js";
export { lowRankBilinearPool, type LowRankBilinearPoolOptions } from "./lowRankBilinearPool.js";
