import busboy from 'busboy';
import type { Request } from 'express';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { MultiHasher, type DigestName, type Digests } from '../storage/hashing';
import { badRequest } from './errors';

export interface ReceivedFile {
  path: string;
  filename: string;
  size: number;
  digests: Digests;
}

export interface MultipartResult {
  fields: Record<string, string>;
  files: Record<string, ReceivedFile>;
}

/**
 * Streams a multipart body: text fields are collected (bounded), each file field is written to a
 * temp file while being hashed, so even multi-GiB uploads use constant memory and one read.
 */
export async function receiveMultipart(
  req: Request,
  opts: { fileFields: string[]; tempPath: () => string; digests: readonly DigestName[]; maxFieldBytes: number },
): Promise<MultipartResult> {
  const fields: Record<string, string> = {};
  const files: Record<string, ReceivedFile> = {};
  const pending: Array<Promise<void>> = [];
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: req.headers, limits: { fieldSize: opts.maxFieldBytes, fields: 200, files: opts.fileFields.length || 1 } });
  } catch (e) {
    throw badRequest(`Malformed multipart body: ${(e as Error).message}`);
  }
  let failure: Error | null = null;
  bb.on('field', (name, value, info) => {
    if (info.valueTruncated) failure ??= badRequest(`Field '${name}' is too large.`);
    fields[name] = value;
  });
  bb.on('file', (name, stream, info) => {
    if (!opts.fileFields.includes(name) || files[name]) {
      failure ??= badRequest(opts.fileFields.includes(name) ? `File field '${name}' given twice.` : `Unexpected file field '${name}'.`);
      stream.resume();
      return;
    }
    const path = opts.tempPath();
    const hasher = new MultiHasher(opts.digests);
    const record: ReceivedFile = { path, filename: info.filename ?? name, size: 0, digests: {} };
    files[name] = record;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hasher.update(chunk);
        cb(null, chunk);
      },
    });
    pending.push(
      pipeline(stream, tap, createWriteStream(path)).then(() => {
        record.size = hasher.size;
        record.digests = hasher.digest();
      }),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      bb.on('close', resolve);
      bb.on('error', (e: Error) => reject(badRequest(`Malformed multipart body: ${e.message}`)));
      req.on('aborted', () => reject(badRequest('Request aborted.')));
      req.pipe(bb);
    });
    await Promise.all(pending);
    if (failure) throw failure;
  } catch (e) {
    await Promise.allSettled(pending);
    await Promise.all(Object.values(files).map((f) => unlink(f.path).catch(() => undefined)));
    throw e;
  }
  return { fields, files };
}
