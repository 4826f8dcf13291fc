import { TaskError, type RemoteInfo, type Row } from '@pith/plugin-api';
import { FieldCipherError, type FieldCipher } from '../config/field-cipher';
import type { Db } from '../db/db';
import type { PluginRegistry } from '../plugins/plugin-registry';
import { quoteIdent } from '../http/sql-filters';
import type { DetailTables } from '../resources/detail-tables';
import { detailHref } from '../resources/resource-hrefs';

const POLICIES = new Set(['immediate', 'on_demand', 'streamed']);

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Loads a remote (master row plus its type's detail columns) as tasks see it, secrets included. */
export async function loadRemoteInfo(
  db: Db, registry: PluginRegistry, tables: DetailTables, secrets: FieldCipher, remoteId: string,
): Promise<RemoteInfo> {
  const m = await db.one(
    `SELECT pulp_id, pulp_type, name, url, policy, download_concurrency, max_retries, headers, username, password,
            tls_validation, ca_cert, client_cert, client_key, proxy_url, proxy_username, proxy_password,
            total_timeout, connect_timeout, sock_connect_timeout, sock_read_timeout, rate_limit
       FROM core_remote WHERE pulp_id = $1`,
    [remoteId],
  );
  if (!m) throw new TaskError(`Remote ${remoteId} does not exist.`);
  let detail: Row = {};
  const entity = registry.remoteTypes.get(m.pulp_type)?.def.entity;
  if (entity) {
    const table = await tables.get(entity);
    const d = await db.one(`SELECT * FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = $1`, [remoteId]);
    if (d) {
      delete d[table.ptr];
      detail = d;
    }
  }
  const secret = (column: string): string | null => {
    try {
      return secrets.decrypt(column, m[column]);
    } catch (e) {
      throw e instanceof FieldCipherError ? new TaskError(`Remote '${m.name}': ${e.message}`) : e;
    }
  };
  return {
    pulp_id: m.pulp_id,
    pulp_type: m.pulp_type,
    href: detailHref(registry, 'remotes', m.pulp_type, m.pulp_id),
    name: m.name,
    url: m.url,
    policy: POLICIES.has(m.policy) ? m.policy : 'immediate',
    download_concurrency: num(m.download_concurrency),
    max_retries: num(m.max_retries),
    headers: Array.isArray(m.headers) ? m.headers : [],
    username: secret('username'),
    password: secret('password'),
    tls_validation: m.tls_validation !== false,
    ca_cert: m.ca_cert ?? null,
    client_cert: m.client_cert ?? null,
    client_key: secret('client_key'),
    proxy_url: m.proxy_url ?? null,
    proxy_username: secret('proxy_username'),
    proxy_password: secret('proxy_password'),
    total_timeout: num(m.total_timeout),
    connect_timeout: num(m.connect_timeout),
    sock_connect_timeout: num(m.sock_connect_timeout),
    sock_read_timeout: num(m.sock_read_timeout),
    rate_limit: num(m.rate_limit),
    detail,
  };
}
