import { ArchiveError } from './archive-errors';
import { CHUNK_SIZE_MESSAGE, ChunkSizeError, isValidChunkSize, MAX_CHUNK_SIZE, parseChunkSize } from './chunk-size';

describe('parseChunkSize', () => {
  it.each([
    [1048576, 1048576],
    ['1048576', 1048576],
    [' 42 ', 42],
    ['100B', 100],
    ['1KB', 1024],
    ['1k', 1024],
    ['10MB', 10 * 2 ** 20],
    ['10mb', 10 * 2 ** 20],
    ['10 MB', 10 * 2 ** 20],
    ['10M', 10 * 2 ** 20],
    ['10MiB', 10 * 2 ** 20],
    ['1.5GB', 1.5 * 2 ** 30],
    ['1.5 g', 1.5 * 2 ** 30],
    ['0.3KB', 307], // floored
    ['.5MB', 2 ** 19],
    ['1TB', 2 ** 40],
    ['1t', 2 ** 40],
    [MAX_CHUNK_SIZE, MAX_CHUNK_SIZE],
  ])('accepts %p as %p bytes', (input, bytes) => {
    expect(parseChunkSize(input)).toBe(bytes);
  });

  it.each([
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    MAX_CHUNK_SIZE + 1,
    '0',
    '0MB',
    '0.0001B',
    '0.1', // fraction of a byte without unit
    '1.5B',
    '-1MB',
    '1.1TB',
    '2TB',
    '10 XB',
    'MB',
    '',
    '  ',
    '10 M B',
    '1e6',
    '0x10',
    '10MBB',
    '99999999999999999999',
    null,
    undefined,
    true,
    {},
    [10],
  ])('rejects %p with the shared message', (input) => {
    expect(() => parseChunkSize(input)).toThrow(ChunkSizeError);
    expect(() => parseChunkSize(input)).toThrow(CHUNK_SIZE_MESSAGE);
    expect(isValidChunkSize(input)).toBe(false);
  });

  it('is an ArchiveError whose message says what is accepted', () => {
    const e = (() => {
      try {
        parseChunkSize('lots');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ArchiveError);
    expect((e as Error).message).toMatch(/10MB, 1\.5GB or a number of bytes/);
    expect(isValidChunkSize('10MB')).toBe(true);
  });
});
