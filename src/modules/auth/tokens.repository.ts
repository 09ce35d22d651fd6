import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ApiTokenEntity } from './entities/api-token.entity';

@Injectable()
export class TokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(ApiTokenEntity);
  }

  findByKeyHash(keyHash: string): Promise<ApiTokenEntity | null> {
    return this.repo().findOne({ where: { keyHash } });
  }

  async insert(manager: EntityManager, token: Partial<ApiTokenEntity>): Promise<void> {
    // insert() rather than save(): no read-back of the row, which nothing here needs.
    await this.repo(manager).insert(token);
  }

  async touch(manager: EntityManager, id: number, lastUsedAt: Date): Promise<void> {
    await this.repo(manager).update({ id }, { lastUsedAt });
  }

  async deleteById(manager: EntityManager, id: number): Promise<void> {
    await this.repo(manager).delete({ id });
  }

  async deleteAllForUser(manager: EntityManager, userId: number): Promise<void> {
    await this.repo(manager).delete({ userId });
  }
}
