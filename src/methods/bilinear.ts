import type { PoolMethod } from "../registry.js";

export const BILINEAR_METHODS: readonly PoolMethod[] = [];
