import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { IsUploadedFile } from '../storage/artifact.dto';
import type { ReceivedFile } from '../http/multipart';

const SHA256 = Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be a 64-character hexadecimal sha256 digest.' });

/** Body of `uploads_create`. */
export class Upload {
  /** The size of the upload in bytes. */
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) size: number;
}

/** Body of `uploads_update` (one chunk; its place comes from the Content-Range header). */
export class UploadChunk {
  /** A chunk of the uploaded file. */
  @IsUploadedFile() file: ReceivedFile;
  /** The SHA-256 checksum of the chunk if available. */
  @IsOptional() @SHA256 sha256?: string;
}

/** Body of `uploads_commit`. */
export class UploadCommit {
  /** The expected sha256 checksum for the file. */
  @SHA256 sha256: string;
}
