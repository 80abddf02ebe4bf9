export * from "./plan.js";
export * from "./sliding.js";
export * from "./adaptive.js";
export * from "./fractional.js";
export * from "./divisors.js";
