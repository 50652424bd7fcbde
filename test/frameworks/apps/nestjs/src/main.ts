import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  if (process.env.GLOBAL_PREFIX) app.setGlobalPrefix(process.env.GLOBAL_PREFIX);
  app.enableShutdownHooks();
  const port = Number(process.env.PORT);
  await app.listen(port, '127.0.0.1');
  console.log(`nestjs app on http://127.0.0.1:${port}/`);
}
void bootstrap();
