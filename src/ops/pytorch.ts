// Barrel of the pytorch ops; each op lives in its own file in this folder.
export {};
