import type { PoolMethod } from "../registry.js";

export const DOWNSTREAM_METHODS: readonly PoolMethod[] = [];
