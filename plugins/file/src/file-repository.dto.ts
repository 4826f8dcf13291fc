import { IsBoolean, IsOptional, IsString, ValidateIf } from 'class-validator';
import { IsRelativePath } from './file-paths';

/** `file.file` repository fields besides the core ones (detail columns of file_filerepository). */
export class FileRepositoryDto {
  /** Publish each new version automatically (with `manifest`). */
  @ValidateIf((o: FileRepositoryDto) => o.autopublish !== undefined) @IsBoolean() autopublish?: boolean;
  /** Manifest file name for automatic publications; null publishes without a manifest. */
  @IsOptional() @IsString() @IsRelativePath() manifest?: string | null;
}
