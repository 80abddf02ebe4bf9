// Barrel of the downstream ops; each op lives in its own file in this folder.
export {};
