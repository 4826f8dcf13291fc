/** One entry of a directory listing. */
export interface ListingEntry {
  name: string;
  isDir: boolean;
  /** Bytes; null when unknown (on-demand content without an expected size) or a directory. */
  size: number | null;
  /** When the entry was published/added; null for synthetic directories. */
  modified: Date | null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** nginx autoindex date: `02-Jan-2025 03:04`. */
function nginxDate(d: Date): string {
  return `${pad2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/**
 * An nginx-autoindex-style HTML page (what Pulp's content app imitates and what mirror tools
 * scrape): one `<a>` per entry, names padded to 50 columns, then date and size.
 */
export function renderListing(title: string, entries: ListingEntry[], withParent: boolean): string {
  const lines: string[] = [];
  if (withParent) lines.push('<a href="../">../</a>');
  for (const e of entries) {
    const label = e.isDir ? `${e.name}/` : e.name;
    const href = encodeURIComponent(e.name) + (e.isDir ? '/' : '');
    const shown = label.length > 50 ? `${label.slice(0, 47)}..>` : label;
    const date = e.modified ? nginxDate(e.modified) : '';
    const size = e.isDir || e.size === null ? '-' : String(e.size);
    lines.push(`<a href="${escapeHtml(href)}">${escapeHtml(shown)}</a>${' '.repeat(Math.max(1, 51 - shown.length))}${date.padEnd(17)} ${size.padStart(19)}`);
  }
  const t = escapeHtml(title);
  return `<html>\n<head><title>Index of ${t}</title></head>\n<body>\n<h1>Index of ${t}</h1><hr><pre>${lines.join('\n')}\n</pre><hr></body>\n</html>\n`;
}
