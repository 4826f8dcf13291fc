import { IsOptional, IsString } from 'class-validator';

/** Core fields of `POST publications/<plugin>/<type>/` (a type's DTO is merged in at boot). */
export class PublicationCoreDto {
  /** A repository href: its latest version is published. */
  @IsOptional() @IsString() repository?: string | null;
  /** A repository version href (or PRN). */
  @IsOptional() @IsString() repository_version?: string | null;
}
