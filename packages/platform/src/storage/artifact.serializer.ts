import { hrefs, prn } from '../http/hrefs';
import type { ArtifactRow } from './artifact-storage.service';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** Pulp's ArtifactSerializer fields, in its order. */
export function serializeArtifact(a: ArtifactRow): Record<string, string | number | null> {
  return {
    pulp_href: hrefs.artifact(a.pulp_id),
    prn: prn('core', 'artifact', a.pulp_id),
    pulp_created: iso(a.pulp_created),
    pulp_last_updated: iso(a.pulp_last_updated),
    file: a.file,
    size: a.size,
    md5: a.md5,
    sha1: a.sha1,
    sha224: a.sha224,
    sha256: a.sha256,
    sha384: a.sha384,
    sha512: a.sha512,
  };
}

/** Inline OpenAPI schema of the response (Pulp's ArtifactResponse). */
export const ARTIFACT_RESPONSE_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    pulp_href: { type: 'string', format: 'uri', readOnly: true },
    prn: { type: 'string', readOnly: true },
    pulp_created: { type: 'string', format: 'date-time', readOnly: true },
    pulp_last_updated: { type: 'string', format: 'date-time', readOnly: true },
    file: { type: 'string' },
    size: { type: 'integer', format: 'int64' },
    md5: { type: ['string', 'null'] },
    sha1: { type: ['string', 'null'] },
    sha224: { type: ['string', 'null'] },
    sha256: { type: ['string', 'null'] },
    sha384: { type: ['string', 'null'] },
    sha512: { type: ['string', 'null'] },
  },
  required: ['file'],
};
