// The baseline: a bare fastify route answering what examples/plugins/my-plugin answers.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/my-feature', async (_req, reply) => reply.type('application/json').send('{"message":"Hello from my plugin!"}'));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ msg: 'gateway listening', url: `http://127.0.0.1:${app.server.address().port}` })}\n`);
