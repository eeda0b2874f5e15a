import readline from 'node:readline';

/**
 * A password from the terminal (typed twice, not echoed) or, when stdin is not a terminal, its
 * first line (`echo "$PASS" | backworks user add …`): never from the command line, where `ps` and
 * the shell history would keep it.
 */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0];
  }
  const first = await ask(`${prompt}: `);
  const second = await ask('again: ');
  if (first !== second) throw new Error('the two passwords differ; nothing was changed');
  return first;
}

function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput: (s: string) => void };
    rl.question(question, (answer) => { rl.close(); process.stderr.write('\n'); resolve(answer); });
    output._writeToOutput = () => {}; // no echo after the question is shown
  });
}
