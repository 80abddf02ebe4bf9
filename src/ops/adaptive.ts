// Barrel of the adaptive ops; each op lives in its own file in this folder.
export {};
