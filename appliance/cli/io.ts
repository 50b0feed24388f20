/** The streams a subcommand writes to; tests pass their own. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

export type Subcommand = {
  readonly summary: string;
  readonly run: (argv: string[], io: CommandIo) => Promise<number>;
};

/** Dispatches `argv[0]` to a subcommand; `--help`/`help`/nothing lists them. Exit 2 on misuse. */
export async function dispatch(name: string, commands: Readonly<Record<string, Subcommand>>, argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const usage = () =>
    `usage: ${name} <command> [options]\n\ncommands:\n${Object.entries(commands)
      .map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)
      .join('\n')}\n\nRun \`${name} <command> --help\` for a command's options.\n`;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(usage());
    return sub === undefined ? 2 : 0;
  }
  const command = commands[sub];
  if (!command) {
    io.stderr.write(`${name}: unknown command "${sub}"\n\n${usage()}`);
    return 2;
  }
  return command.run(rest, io);
}
