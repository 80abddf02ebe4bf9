import type { PoolMethod } from "../registry.js";

export const WEIGHTED_METHODS: readonly PoolMethod[] = [];
