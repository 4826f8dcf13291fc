import { Inject, Module, type DynamicModule, type INestApplication, type OnApplicationBootstrap, type OnApplicationShutdown, Injectable } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import type { Platform } from '../platform';
import { buildEndpoints } from '../api/index';
import { jsonClientErrors, mountEndpoints } from '../http/router';
import { API_ROOT } from '../http/hrefs';
import { startAppHeartbeat } from './app-heartbeat';
import type { DigestName } from '../storage/hashing';

export const PLATFORM = Symbol('PLATFORM');

/** Lifecycle of the API process: heartbeat while up, removed on shutdown. */
@Injectable()
class ApiLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopHeartbeat: (() => Promise<void>) | null = null;

  constructor(@Inject(PLATFORM) private readonly p: Platform) {}

  onApplicationBootstrap(): void {
    this.stopHeartbeat = startAppHeartbeat(this.p, 'api', 120);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stopHeartbeat?.();
  }
}

@Module({})
class ApiModule {
  static forPlatform(p: Platform): DynamicModule {
    // useFactory, not useValue: Nest hashes dynamic-module metadata to make module tokens, and
    // serializing the whole Platform (pools, sockets) is slow enough to look like a hang.
    return { module: ApiModule, providers: [{ provide: PLATFORM, useFactory: () => p }, ApiLifecycle] };
  }
}

/** The REST API process (`pith api`): NestJS on Express, our own body handling (streams uploads). */
export async function createApiApp(p: Platform): Promise<INestApplication> {
  const app = await NestFactory.create(ApiModule.forPlatform(p), new ExpressAdapter(), {
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  // Our routes go on Express before Nest's init registers its own not-found handler.
  const express = app.getHttpAdapter().getInstance() as Express;
  express.disable('x-powered-by');
  express.set('etag', false);
  mountEndpoints(express, buildEndpoints(p), {
    auth: p.auth,
    logger: p.logger,
    maxJsonBody: p.config.PITH_MAX_JSON_BODY,
    tempPath: () => p.tempPath(),
    digests: p.config.PITH_ALLOWED_CONTENT_CHECKSUMS as DigestName[],
    apiPrefix: API_ROOT.replace(/\/$/, ''),
  });
  jsonClientErrors(app.getHttpServer());
  await app.init();
  return app;
}
