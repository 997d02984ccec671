import { Module } from '@nestjs/common';
import { SiteRepository } from './site.repository';
import { SiteResolver } from './site.resolver';
import { SiteService } from './site.service';

@Module({ providers: [SiteRepository, SiteService, SiteResolver], exports: [SiteRepository, SiteService] })
export class SitesModule {}
