import { IsInt, IsOptional, Matches, Max, Min, ValidateBy, type ValidationOptions } from 'class-validator';
import type { ReceivedFile } from '../http/multipart';

/** A multipart file part (the router puts a ReceivedFile there); a plain text value is refused. */
export function IsUploadedFile(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isUploadedFile',
      validator: {
        validate: (v: unknown) =>
          !!v && typeof v === 'object' && typeof (v as ReceivedFile).path === 'string' && typeof (v as ReceivedFile).size === 'number',
        defaultMessage: () => 'The submitted data was not a file. Check the encoding type on the form.',
      },
    },
    options,
  );
}

const hex = (n: number, name: string) =>
  Matches(new RegExp(`^[0-9a-fA-F]{${n}}$`), { message: `${name} must be a ${n}-character hexadecimal ${name} digest.` });

/** Body of `artifacts_create` (Pulp's `Artifact` request schema). */
export class Artifact {
  /** The stored file. */
  @IsUploadedFile() file: ReceivedFile;
  /** Expected size in bytes (verified). */
  @IsOptional() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) size?: number;
  @IsOptional() @hex(32, 'md5') md5?: string;
  @IsOptional() @hex(40, 'sha1') sha1?: string;
  @IsOptional() @hex(56, 'sha224') sha224?: string;
  @IsOptional() @hex(64, 'sha256') sha256?: string;
  @IsOptional() @hex(96, 'sha384') sha384?: string;
  @IsOptional() @hex(128, 'sha512') sha512?: string;
}
