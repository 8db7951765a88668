/**
 * Builds, in memory, the smallest ONNX model that multiplies two float32 matrices (inputs `A`
 * [n,n] and `B` [n,n], output `C`). ONNX Runtime's MatMul kernel (MLAS) is hand-vectorised, so
 * timing it on one thread gives this machine's practical single-core FP32 peak in the same
 * process and runtime as the embedding benchmark.
 */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, value: number): number[] => [...key(field, 0), ...varint(value)];
const bytes = (field: number, data: number[]): number[] => [
  ...key(field, 2),
  ...varint(data.length),
  ...data,
];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);

function valueInfo(name: string, n: number): number[] {
  const dim = (v: number): number[] => bytes(1, int(1, v)); // TensorShapeProto.Dimension.dim_value
  const shape = bytes(2, [...dim(n), ...dim(n)]); // TypeProto.Tensor.shape
  const tensorType = bytes(1, [...int(1, 1), ...shape]); // TypeProto.tensor_type (elem_type FLOAT)
  return [...str(1, name), ...bytes(2, tensorType)];
}

export function matmulModel(n: number): Uint8Array {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'C'), ...str(4, 'MatMul')];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'matmul'),
    ...bytes(11, valueInfo('A', n)),
    ...bytes(11, valueInfo('B', n)),
    ...bytes(12, valueInfo('C', n)),
  ];
  const opset = int(2, 13);
  const model = [...int(1, 8), ...bytes(7, graph), ...bytes(8, opset)];
  return Uint8Array.from(model);
}
