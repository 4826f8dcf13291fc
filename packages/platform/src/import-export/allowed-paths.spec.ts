import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isInside, realLocation, resolveAllowed } from './allowed-paths';

describe('resolveAllowed', () => {
  let base: string; // realpath'd temp dir
  let root: string; // the allowed root
  let outside: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), 'pith-allowed-')));
    root = path.join(base, 'exports');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });
    mkdirSync(outside);
    mkdirSync(path.join(base, 'exports-evil'));
    writeFileSync(path.join(root, 'file.tar'), 'x');
    writeFileSync(path.join(outside, 'secret'), 'x');
    symlinkSync(outside, path.join(root, 'escape')); // points out of the root
    symlinkSync(path.join(root, 'sub'), path.join(root, 'alias')); // stays inside
    symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
    symlinkSync(root, path.join(base, 'root-link')); // the allowed root given through a link
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('admits the root itself and existing paths below it, returning the realpath', () => {
    expect(resolveAllowed(root, [root])).toBe(root);
    expect(resolveAllowed(`${root}/`, [root])).toBe(root);
    expect(resolveAllowed(path.join(root, 'sub', 'deeper'), [root])).toBe(path.join(root, 'sub', 'deeper'));
    expect(resolveAllowed(path.join(root, 'file.tar'), [root])).toBe(path.join(root, 'file.tar'));
  });

  it('admits a not-yet-existing directory below an existing one', () => {
    expect(resolveAllowed(path.join(root, 'new', 'nested', 'dir'), [root])).toBe(path.join(root, 'new', 'nested', 'dir'));
    expect(resolveAllowed(path.join(root, 'alias', 'new'), [root])).toBe(path.join(root, 'sub', 'new'));
  });

  it('refuses a sibling that only shares a name prefix with the root', () => {
    expect(resolveAllowed(path.join(base, 'exports-evil'), [root])).toBeNull();
    expect(resolveAllowed(path.join(base, 'exports-evil', 'x'), [root])).toBeNull();
    expect(resolveAllowed(path.join(base, 'exports-evil'), [`${root}/`])).toBeNull();
  });

  it('refuses `..` that leaves the root, and `..` among components that do not exist yet', () => {
    expect(resolveAllowed(path.join(root, 'sub', '..', '..', 'outside'), [root])).toBeNull();
    expect(resolveAllowed(`${root}/../outside/secret`, [root])).toBeNull();
    expect(resolveAllowed(`${root}/missing/../sub`, [root])).toBeNull();
    expect(resolveAllowed(`${root}/missing/..`, [root])).toBeNull();
    // `..` that stays inside an existing tree is resolved, not refused.
    expect(resolveAllowed(`${root}/sub/deeper/..`, [root])).toBe(path.join(root, 'sub'));
  });

  it('follows symlinks: one pointing out is refused, one pointing in resolves to its target', () => {
    expect(resolveAllowed(path.join(root, 'escape'), [root])).toBeNull();
    expect(resolveAllowed(path.join(root, 'escape', 'secret'), [root])).toBeNull();
    expect(resolveAllowed(path.join(root, 'escape', 'new-dir'), [root])).toBeNull();
    expect(resolveAllowed(path.join(root, 'alias', 'deeper'), [root])).toBe(path.join(root, 'sub', 'deeper'));
  });

  it('refuses a dangling symlink (creating through it would write outside)', () => {
    expect(resolveAllowed(path.join(root, 'dangling'), [root])).toBeNull();
    expect(resolveAllowed(path.join(root, 'dangling', 'x'), [root])).toBeNull();
  });

  it('resolves the allowed roots too', () => {
    expect(resolveAllowed(path.join(root, 'sub'), [path.join(base, 'root-link')])).toBe(path.join(root, 'sub'));
    expect(resolveAllowed(path.join(base, 'root-link', 'sub'), [root])).toBe(path.join(root, 'sub'));
    expect(resolveAllowed(path.join(root, 'sub'), [path.join(base, 'missing-root')])).toBeNull();
  });

  it('checks every allowed root and refuses when none is configured', () => {
    expect(resolveAllowed(path.join(outside, 'secret'), [root, outside])).toBe(path.join(outside, 'secret'));
    expect(resolveAllowed(root, [])).toBeNull();
  });

  it('refuses relative paths, empty strings and NUL bytes', () => {
    expect(resolveAllowed('exports/sub', [root])).toBeNull();
    expect(resolveAllowed('', [root])).toBeNull();
    expect(resolveAllowed(`${root}/sub\0/x`, [root])).toBeNull();
    expect(resolveAllowed(path.join(root, 'sub'), ['relative/root'])).toBeNull();
  });

  it('refuses paths below a regular file', () => {
    expect(resolveAllowed(path.join(root, 'file.tar', 'x'), [root])).toBeNull();
  });
});

describe('isInside / realLocation', () => {
  it('compares by components', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/b/..c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });

  it('joins missing components onto the deepest existing ancestor', () => {
    const real = realpathSync(tmpdir());
    expect(realLocation(path.join(tmpdir(), 'pith-no-such-dir', 'a', 'b'))).toBe(path.join(real, 'pith-no-such-dir', 'a', 'b'));
  });
});
