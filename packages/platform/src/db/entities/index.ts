import { Artifact } from './artifact.entity';
import { Content, ContentArtifact } from './content.entity';
import { Remote, RemoteArtifact } from './remote.entity';
import { Repository, RepositoryVersion, RepositoryContent } from './repository.entity';
import { Publication, PublishedArtifact, PublishedMetadata } from './publication.entity';
import { ContentGuard, Distribution } from './distribution.entity';
import { Task, TaskGroup, GroupProgressReport, ProgressReport } from './task.entity';
import { Upload, UploadChunk, AppStatus, User } from './misc.entity';
import { PulpExporter, PulpExporterRepository, PulpExport, PulpImporter, PulpImport } from './import-export.entity';

export * from './base';
export * from './artifact.entity';
export * from './content.entity';
export * from './remote.entity';
export * from './repository.entity';
export * from './publication.entity';
export * from './distribution.entity';
export * from './task.entity';
export * from './misc.entity';
export * from './import-export.entity';

export const CORE_ENTITIES = [
  Artifact, Content, ContentArtifact, Remote, RemoteArtifact, Repository, RepositoryVersion,
  RepositoryContent, Publication, PublishedArtifact, PublishedMetadata, ContentGuard, Distribution,
  Task, TaskGroup, GroupProgressReport, ProgressReport, Upload, UploadChunk, AppStatus, User,
  PulpExporter, PulpExporterRepository, PulpExport, PulpImporter, PulpImport,
];
