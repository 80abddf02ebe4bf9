// Barrel of the bilinear ops; each op lives in its own file in this folder.
export {};
