// The baseline: a bare fastify route answering the same JSON the plugin endpoint answers.
import Fastify from 'fastify';

const app = Fastify();
const body = JSON.stringify({ accepted: 0, rejected: 0, last_at: null });
app.get('/ingest', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ msg: 'bare listening', url }));
