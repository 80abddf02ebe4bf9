// Barrel of the novel ops; each op lives in its own file in this folder.
export {};
