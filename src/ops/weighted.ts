// Barrel of the weighted ops; each op lives in its own file in this folder.
export {};
