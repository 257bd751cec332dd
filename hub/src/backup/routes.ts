/**
 * Backups of the embedded store (backup.ts): the list with the one running, and "back up now".
 * System administrators only; the daily one runs by itself at JG_BACKUP_HOUR.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../http/access.js';
import { defineRoute } from '../http/define.js';
import { BackupListSchema, BackupSchema } from '../protocol/index.js';
import type { StoreBackups } from './backup.js';

export function registerBackupRoutes(app: FastifyInstance, deps: { backups: StoreBackups }): void {
  const { backups } = deps;
  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/backups',
    tags: ['运维'],
    summary: '数据备份：进行中的与已完成的备份（时间、大小、各表行数、校验结果），备份目录与每日备份时间',
    auth: ['system_admin'],
    scope: 'city',
    response: BackupListSchema,
    handler: async () => backups.list(),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/backups',
    tags: ['运维'],
    summary: '立即备份（后台进行，返回 202 与进度；另一备份进行中时 409 BACKUP_RUNNING；外部 ClickHouse 服务器时 409 BACKUP_UNSUPPORTED）',
    auth: ['system_admin'],
    scope: 'city',
    audit: 'backup.start',
    response: BackupSchema,
    handler: async (req, reply) => {
      const p = authorize(req, ['system_admin']);
      const { first } = backups.start('manual', p.username);
      req.auditNote = { targetType: 'backup', targetId: first.name };
      return reply.code(202).send(first);
    },
  });
}
