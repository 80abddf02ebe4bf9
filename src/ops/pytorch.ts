// Barrel of the PyTorch sliding-window family and global pooling; each op lives in its own file in this folder.
export { maxPool1d, maxPool2d, maxPool3d, maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices } from "./maxPool.js";
export type { MaxPoolOptions, MaxPoolResult } from "./maxPool.js";
export type { SlidingPadding } from "../geometry/sliding.js";
export { maxUnpool1d, maxUnpool2d, maxUnpool3d } from "./maxUnpool.js";
export type { MaxUnpoolOptions } from "./maxUnpool.js";
export { avgPool1d, avgPool2d, avgPool3d } from "./avgPool.js";
export type { AvgPoolOptions } from "./avgPool.js";
export { lpPool1d, lpPool2d, lpPool3d } from "./lpPool.js";
export type { LpPoolOptions } from "./lpPool.js";
export { globalAvgPool, globalMaxPool } from "./globalPool.js";
export type { GlobalPoolOptions } from "./globalPool.js";
