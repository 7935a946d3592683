/** Types of tools/cli/node-version.mjs (plain JavaScript, so that it runs on any Node). */
export declare const MINIMUM_NODE: string;
export declare function nodeVersionProblem(version: string): string | undefined;
export declare function requireSupportedNode(version?: string): void;
