import { IsBoolean, ValidateIf } from 'class-validator';

/** Extra fields of `<repo_href>sync/` for file repositories (besides `remote` and `mirror`). */
export class FileSyncDto {
  /** Skip the sync when the manifest, the remote and the repository are unchanged since the last one. */
  @ValidateIf((o: FileSyncDto) => o.optimize !== undefined) @IsBoolean() optimize?: boolean = true;
}
