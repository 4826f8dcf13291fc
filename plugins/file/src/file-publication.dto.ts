import { IsOptional, IsString } from 'class-validator';
import { IsRelativePath } from './file-paths';

/** `file.file` publication fields besides `repository`/`repository_version`. */
export class FilePublicationDto {
  /** Name of the manifest to generate; null publishes without one. Default `PULP_MANIFEST`. */
  @IsOptional() @IsString() @IsRelativePath() manifest?: string | null;
}
