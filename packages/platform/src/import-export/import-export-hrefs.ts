import { API_ROOT } from '../http/hrefs';

/** Hrefs of exporters, importers and their histories, as Pulp builds them. */
export const exporterHref = (id: string) => `${API_ROOT}exporters/core/pulp/${id}/`;
export const exportHref = (exporterId: string, id: string) => `${exporterHref(exporterId)}exports/${id}/`;
export const importerHref = (id: string) => `${API_ROOT}importers/core/pulp/${id}/`;
export const importHref = (importerId: string, id: string) => `${importerHref(importerId)}imports/${id}/`;
