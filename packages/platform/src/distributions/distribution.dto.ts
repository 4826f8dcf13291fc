import { IsBoolean, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { IsLabels } from '../resources/core-dtos';

const defined = (prop: string) => ValidateIf((o: Record<string, unknown>) => o[prop] !== undefined);

/**
 * Core fields of every distribution (a type's DTO is merged in at boot). Targets are hrefs or
 * PRNs; `null` or `""` clears them (pulp-cli sends explicit nulls for the ones not chosen).
 */
export class DistributionCoreDto {
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  /** Checked in code (segments, characters, nesting) for precise messages. */
  @IsString() @IsNotEmpty() base_path: string;
  @IsOptional() @IsString() content_guard?: string | null;
  @defined('hidden') @IsBoolean() hidden?: boolean;
  @defined('pulp_labels') @IsObject() @IsLabels() pulp_labels?: Record<string, string>;
  @IsOptional() @IsString() repository?: string | null;
  @IsOptional() @IsString() repository_version?: string | null;
}

/** Distributions of types that serve publications also accept `publication`. */
export class PublicationDistributionCoreDto extends DistributionCoreDto {
  @IsOptional() @IsString() publication?: string | null;
}
