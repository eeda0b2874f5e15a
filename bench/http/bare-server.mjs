// The baseline: a bare fastify route doing the same work as the plugin's GET /ingest (building
// its small JSON answer from counters on every request), so the ratio measures what Backworks adds.
import Fastify from 'fastify';

const app = Fastify();
const stats = { accepted: 0, rejected: 0, lastAt: null };
app.get('/ingest', async (_req, reply) => reply.type('application/json; charset=utf-8')
  .send(JSON.stringify({ accepted: stats.accepted, rejected: stats.rejected, last_at: stats.lastAt })));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ msg: 'bare listening', url }));
