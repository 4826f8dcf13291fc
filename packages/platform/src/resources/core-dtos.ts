import {
  IsArray, IsBoolean, IsInt, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateBy,
  ValidateIf, type ValidationOptions,
} from 'class-validator';

const LABEL_KEY = /^[\w .\-/:]+$/;
/** Upper bound of the `integer` (int4) columns these fields are stored in. */
const INT4_MAX = 2_147_483_647;

/** `pulp_labels`: an object of string → string; keys are word characters, spaces, `.-/:`. */
export function IsLabels(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLabels',
      validator: {
        validate: (v: unknown) =>
          !!v && typeof v === 'object' && !Array.isArray(v) &&
          Object.entries(v as Record<string, unknown>).every(([k, val]) => LABEL_KEY.test(k) && k.length <= 255 && typeof val === 'string'),
        defaultMessage: () => 'Labels must be an object of string values with keys of letters, digits, spaces and _ . - / :',
      },
    },
    options,
  );
}

/** Remote `headers`: a list of objects (one header per object, as Pulp stores them). */
export function IsHeaderList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHeaderList',
      validator: {
        validate: (v: unknown) =>
          Array.isArray(v) && v.every((h) => !!h && typeof h === 'object' && !Array.isArray(h) &&
            Object.values(h as Record<string, unknown>).every((x) => typeof x === 'string')),
        defaultMessage: () => 'headers must be a list of objects with string values.',
      },
    },
    options,
  );
}

const defined = (prop: string) => ValidateIf((o: Record<string, unknown>) => o[prop] !== undefined);

/** Core fields of every repository (a type's detail DTO is merged in at boot). */
export class RepositoryCoreDto {
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  @IsOptional() @IsString() description?: string | null;
  @IsOptional() @IsInt() @Min(1) @Max(INT4_MAX) retain_repo_versions?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(INT4_MAX) retain_checkpoints?: number | null;
  /** Href of the default remote for syncs. */
  @IsOptional() @IsString() remote?: string | null;
  @defined('pulp_labels') @IsObject() @IsLabels() pulp_labels?: Record<string, string>;
}

/** Core fields of every remote. Secrets are write-only (see REMOTE_SECRET_FIELDS). */
export class RemoteCoreDto {
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  @IsString() @IsNotEmpty() url: string;
  @IsOptional() @IsString() ca_cert?: string | null;
  @IsOptional() @IsString() client_cert?: string | null;
  @IsOptional() @IsString() client_key?: string | null;
  @defined('tls_validation') @IsBoolean() tls_validation?: boolean;
  @IsOptional() @IsString() proxy_url?: string | null;
  @IsOptional() @IsString() proxy_username?: string | null;
  @IsOptional() @IsString() proxy_password?: string | null;
  @IsOptional() @IsString() username?: string | null;
  @IsOptional() @IsString() password?: string | null;
  @defined('pulp_labels') @IsObject() @IsLabels() pulp_labels?: Record<string, string>;
  @IsOptional() @IsInt() @Min(1) @Max(INT4_MAX) download_concurrency?: number | null;
  @IsOptional() @IsInt() @Min(0) @Max(INT4_MAX) max_retries?: number | null;
  @defined('policy') @IsString() policy?: string;
  @IsOptional() @IsNumber() @Min(0) total_timeout?: number | null;
  @IsOptional() @IsNumber() @Min(0) connect_timeout?: number | null;
  @IsOptional() @IsNumber() @Min(0) sock_connect_timeout?: number | null;
  @IsOptional() @IsNumber() @Min(0) sock_read_timeout?: number | null;
  @defined('headers') @IsArray() @IsHeaderList() headers?: Array<Record<string, string>>;
  @IsOptional() @IsInt() @Min(0) @Max(INT4_MAX) rate_limit?: number | null;
}

/** Fields never returned; responses carry `hidden_fields: [{name, is_set}]` instead (Pulp order). */
export const REMOTE_SECRET_FIELDS = ['client_key', 'proxy_username', 'proxy_password', 'username', 'password'] as const;

/** Repository `modify/` body. */
export class RepositoryModifyDto {
  @defined('add_content_units') @IsArray() @IsString({ each: true }) add_content_units?: string[];
  @defined('remove_content_units') @IsArray() @IsString({ each: true }) remove_content_units?: string[];
  @IsOptional() @IsString() base_version?: string | null;
}

/** Repository `sync/` body: core fields (a type's `syncDto` is merged in). */
export class RepositorySyncCoreDto {
  /** Remote href or PRN; defaults to the repository's `remote`. */
  @IsOptional() @IsString() remote?: string | null;
  /** Remove units the remote no longer lists. */
  @defined('mirror') @IsBoolean() mirror?: boolean;
}
