import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { VmproModule } from 'vmpro-connect/nestjs';
import { prefix } from './paths';
import { VideosController } from './videos.controller';

@Module({
  imports: [
    ConfigModule.forRoot(),
    VmproModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        clientId: config.getOrThrow<string>('VMPRO_CLIENT_ID'),
        clientSecret: config.get<string>('VMPRO_CLIENT_SECRET'),
        apiBase: config.get<string>('VMPRO_API_BASE'),
        issuer: config.get<string>('VMPRO_ISSUER'),
        redirectUri: config.getOrThrow<string>('VMPRO_REDIRECT_URI'),
        // With a global prefix the auth routes are under it too: the configured routes are full paths.
        routes: {
          login: `${prefix}/auth/login`,
          logout: `${prefix}/auth/logout`,
          backchannelLogout: `${prefix}/auth/backchannel-logout`,
        },
        session: {
          secrets: config.getOrThrow<string>('VMPRO_SESSION_SECRET'),
          refreshMarginSec: Number(config.get('VMPRO_REFRESH_MARGIN_SEC') ?? 30),
        },
      }),
    }),
  ],
  controllers: [VideosController],
})
export class AppModule {}
