import type { PoolMethod } from "../registry.js";

export const PYTORCH_METHODS: readonly PoolMethod[] = [];
