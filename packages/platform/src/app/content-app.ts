/** The content app process entry (`pith content`); the implementation lives in `content-app/`. */
export { createContentServer, type ContentServer, type ContentServerOptions } from '../content-app/content-server';
