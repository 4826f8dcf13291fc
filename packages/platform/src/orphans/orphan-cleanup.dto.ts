import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/** Body of `orphans_cleanup_cleanup` (Pulp's `OrphansCleanup`). */
export class OrphansCleanup {
  /** Will delete specified content and associated Artifacts if they are orphans. */
  @IsOptional() @IsArray() @ArrayMaxSize(100_000) @IsString({ each: true }) content_hrefs?: string[] | null;
  /** Minutes an orphan must have been untouched to be removed; default PITH_ORPHAN_PROTECTION_TIME. */
  @IsOptional() @IsInt() @Min(0) @Max(5_256_000) orphan_protection_time?: number | null;
}
