/** Content types by file extension (what package managers and browsers expect); default binary. */
const TYPES: Record<string, string> = {
  html: 'text/html', htm: 'text/html', txt: 'text/plain', css: 'text/css', csv: 'text/csv', md: 'text/markdown',
  js: 'text/javascript', json: 'application/json', xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml',
  asc: 'text/plain', sig: 'application/pgp-signature', gpg: 'application/pgp-keys', key: 'application/pgp-keys',
  gz: 'application/gzip', tgz: 'application/gzip', bz2: 'application/x-bzip2', xz: 'application/x-xz',
  zst: 'application/zstd', zip: 'application/zip', tar: 'application/x-tar', iso: 'application/x-iso9660-image',
  rpm: 'application/x-rpm', deb: 'application/vnd.debian.binary-package', whl: 'application/zip', jar: 'application/java-archive',
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml',
  sqlite: 'application/vnd.sqlite3', img: 'application/octet-stream', qcow2: 'application/octet-stream',
};

export function contentTypeFor(relativePath: string): string {
  const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  const t = TYPES[name.slice(dot + 1).toLowerCase()];
  if (!t) return 'application/octet-stream';
  return t.startsWith('text/') ? `${t}; charset=utf-8` : t;
}
