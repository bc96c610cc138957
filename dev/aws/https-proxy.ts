export async function enableHttpsProxy(_s: unknown, _d: string): Promise<string> {
  throw new Error("todo");
}
