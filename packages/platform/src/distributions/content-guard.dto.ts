import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** Fields every content guard has (`core.content_redirect` has only these). */
export class ContentGuardDto {
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  @IsOptional() @IsString() @MaxLength(4096) description?: string | null;
}

/**
 * `core.header`: access requires a request header with an exact value. Pulp's optional `jq_filter`
 * (a jq expression over a base64 JSON header) is not offered: an undeclared field is a 400.
 */
export class HeaderContentGuardDto extends ContentGuardDto {
  /** An HTTP header name (RFC 9110 token). */
  @IsString() @IsNotEmpty() @MaxLength(255)
  @Matches(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'header_name must be a valid HTTP header name.' })
  header_name: string;

  @IsString() @IsNotEmpty() @MaxLength(4096)
  @Matches(/^[\t\x20-\x7e\x80-\xff]*$/, { message: 'header_value may not contain control characters.' })
  header_value: string;
}
