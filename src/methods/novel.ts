import type { PoolMethod } from "../registry.js";

export const NOVEL_METHODS: readonly PoolMethod[] = [];
