/**
 * The received bytes do not match what the caller said they would be (size or a digest). Nothing
 * was stored. `field` names the mismatching value so the API can answer with a field error.
 */
export class ArtifactVerificationError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly expected?: string | number,
    readonly actual?: string | number,
  ) {
    super(message);
    this.name = 'ArtifactVerificationError';
  }
}

/** An artifact with this digest is already stored (raised only when the caller asked to reject duplicates). */
export class ArtifactExistsError extends Error {
  constructor(readonly algorithm: string, readonly digest: string, readonly artifactId: string) {
    super(`Artifact with ${algorithm} checksum of '${digest}' already exists.`);
    this.name = 'ArtifactExistsError';
  }
}
