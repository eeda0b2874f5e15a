// A field of Modbus TCP devices for bench/modbus: DEVICES servers (modbus-serial's ServerTCP), each
// with REGISTERS holding registers; every second CHANGE_PERCENT % of them change.
// Prints "ready PORT,PORT,..." then, on "stats" on stdin, "stats REQUESTS" (register reads served).
import net from 'node:net';
import readline from 'node:readline';
import ModbusSerial from 'modbus-serial';

const devices = Number(process.env.DEVICES ?? 10);
const registers = Number(process.env.REGISTERS ?? 10_000);
const changePercent = Number(process.env.CHANGE_PERCENT ?? 10);
let requests = 0;
const ports = [];
const servers = [];

for (let d = 0; d < devices; d++) {
  const values = new Uint16Array(registers).map((_, i) => (i * 7 + d) & 0xffff);
  setInterval(() => {
    const n = Math.floor((registers * changePercent) / 100);
    for (let k = 0; k < n; k++) { const i = Math.floor(Math.random() * registers); values[i] = (values[i] + 1) & 0xffff; }
  }, 1000).unref();
  const read = (addr, length, _unit, cb) => {
    requests++;
    if (addr + length > registers) return cb({ modbusErrorCode: 2 });
    cb(null, Array.from(values.subarray(addr, addr + length)));
  };
  const port = await freePort(); // ServerTCP turns port 0 into 502
  const server = new ModbusSerial.ServerTCP({ getMultipleHoldingRegisters: read, getHoldingRegister: (a) => values[a] }, { host: '127.0.0.1', port, unitID: 1 });
  await new Promise((resolve) => server.on('initialized', resolve));
  ports.push(port);
  servers.push(server);
}
console.log(`ready ${ports.join(',')}`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') console.log(`stats ${requests}`);
});
process.on('SIGTERM', () => process.exit(0));

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}
