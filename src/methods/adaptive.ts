import type { PoolMethod } from "../registry.js";

export const ADAPTIVE_METHODS: readonly PoolMethod[] = [];
