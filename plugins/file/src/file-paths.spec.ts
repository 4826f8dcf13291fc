import { relativePathProblem } from './file-paths';

describe('relativePathProblem', () => {
  it.each(['a', 'a/b/c.txt', 'with space/ü.iso', 'a,b', '..a/b..', '.hidden/x'])('accepts %j', (p) => {
    expect(relativePathProblem(p)).toBeNull();
  });

  it.each([
    ['', 'blank'],
    ['/abs', "begin with '/'"],
    ['a/../b', "'..'"],
    ['..', "'..'"],
    ['./a', "'.'"],
    ['a//b', 'empty'],
    ['a/', 'empty'],
    ['a\nb', 'control'],
    ['a\u0000b', 'control'],
    ['x'.repeat(5000), 'no more than'],
  ])('rejects %j', (p, why) => {
    expect(relativePathProblem(p)).toContain(why);
  });

  it('rejects non-strings', () => {
    expect(relativePathProblem(undefined)).not.toBeNull();
    expect(relativePathProblem(3)).not.toBeNull();
  });
});
