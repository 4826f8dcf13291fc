/**
 * A problem with an export/import archive (bad TOC, missing or corrupt chunk, hostile or truncated
 * tar member, bad chunk size). The message is written for users and is shown as-is (task error,
 * 400 detail), so it names the file or member concerned and never includes a stack or internals.
 * `problems` lists every individual finding when several were collected (e.g. chunk verification).
 */
export class ArchiveError extends Error {
  readonly problems: readonly string[];

  constructor(message: string, problems?: readonly string[]) {
    super(message);
    this.name = 'ArchiveError';
    this.problems = problems ?? [message];
  }
}
