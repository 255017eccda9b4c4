export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`fjord: not yet: ${argv.join(' ')}\n`);
  return 1;
}
