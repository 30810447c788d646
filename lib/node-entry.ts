// How to start one of the product's TypeScript entry points in a child
// process the way production does: with Node's own type stripping where Node
// has it (24 LTS, 22.18+), else through tsx's loader (Node 20).
const strips = Boolean((process.features as { typescript?: string | false }).typescript);

/** Node's arguments to run `path` (a .ts file). */
export function entryArgs(path: string): string[] {
  return strips ? [path] : ['--import', 'tsx', path];
}

/** The execArgv for fork() of a .ts module. */
export function tsExecArgv(): string[] {
  return strips ? [] : ['--import', 'tsx'];
}
