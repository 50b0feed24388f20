/** `pruem dna …` (placeholder until the commands land in this file). */
export async function dnaCommand(
  _argv: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  io.stderr.write('pruem dna: not available yet\n');
  return 2;
}
