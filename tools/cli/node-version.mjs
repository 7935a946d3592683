// Plain JavaScript on purpose: this runs first, on whatever Node started the CLI, before anything that
// needs a newer one (fauxqs imports node:sqlite; aws-local-stepfunctions needs Promise.withResolvers).

/** The oldest Node the CLI runs on (package.json "engines"). */
export const MINIMUM_NODE = '22.12.0';

/**
 * The line to print when this Node is too old, or undefined when it will do.
 * @param {string} version process.versions.node, e.g. "20.20.2"
 * @returns {string | undefined}
 */
export function nodeVersionProblem(version) {
  const [major = 0, minor = 0] = String(version).split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [needMajor, needMinor] = MINIMUM_NODE.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return (
    `dispatch needs Node >= 22.12 (it runs its local AWS servers on node:sqlite): run it through npm ` +
    `(npm run cli -- ...) which uses the project's Node 24, or install Node 24 (this is Node ${version})`
  );
}

/**
 * Exits with status 1 and one clear line on stderr when this Node is too old.
 * @param {string} [version]
 */
export function requireSupportedNode(version = process.versions.node) {
  const problem = nodeVersionProblem(version);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
