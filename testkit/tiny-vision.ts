/**
 * A tiny CLIP-shaped model folder, built from nothing, for tests of the `clip` image provider.
 * Nothing is downloaded: weights come from a seeded PRNG, the graphs are written with `onnx-proto`,
 * the tokenizer is the WordPiece one of tiny-bert.ts.
 *
 * Layout written (a Transformers.js CLIP export's, minus the real weights):
 *
 *   <dir>/config.json, preprocessor_config.json (32×32, mean/std 0.5)
 *   <dir>/onnx/vision_model.onnx   pixel_values [b,3,32,32] → image_embeds [b,D]
 *   <dir>/onnx/text_model.onnx     input_ids, attention_mask → text_embeds [b,D]   (unless visionOnly)
 *   <dir>/tokenizer.json, tokenizer_config.json                                   (unless visionOnly)
 *
 * The vision tower is the mean colour projected into D dims: image_embeds = mean_rgb · P (P: 3×D).
 * After normalisation a red pixel is (1, −1, −1), so a red image embeds to P₀ − P₁ − P₂. The text
 * tower sums token vectors, and the words "red", "green" and "blue" are given exactly those vectors
 * (other words small random ones), so "red shoes" lands next to red images: text→image search can
 * be tested honestly, with an answer known in advance.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { mulberry32 } from './random.js';
import { buildTinyBertTokenizerJson, SPECIAL_TOKENS } from './tiny-bert.js';

const { onnx } = onnxProto;

export const TINY_CLIP_SIZE = 32;
const WORDS = ['red', 'green', 'blue', 'shoes', 'shoe', 'boots', 'bag', 'a', 'the', 'photo', 'of', 'bright', 'dark', 'jacket'];

function floatTensor(name: string, dims: number[], values: Float32Array) {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (const [i, v] of values.entries()) view.setFloat32(i * 4, v, true);
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

function int64Tensor(name: string, values: number[]) {
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
}

function valueInfo(name: string, elemType: number, dims: Array<string | number>) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
}

function node(opType: string, inputs: string[], outputs: string[], attribute: InstanceType<typeof onnx.AttributeProto>[] = []) {
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, attribute });
}

const intAttr = (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });

function encode(graph: InstanceType<typeof onnx.GraphProto>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'itemvec-tests',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The colour projection P (3 × dims): rows nearly orthogonal random directions. */
function projection(dims: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: 3 * dims }, () => rand() * 2 - 1);
}

export function buildTinyVisionOnnx(p: Float32Array, dims: number): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  return encode(
    onnx.GraphProto.create({
      name: 'tiny_clip_vision',
      input: [valueInfo('pixel_values', FLOAT, ['batch_size', 3, 'height', 'width'])],
      output: [valueInfo('image_embeds', FLOAT, ['batch_size', dims])],
      initializer: [floatTensor('projection', [3, dims], p)],
      node: [
        node('GlobalAveragePool', ['pixel_values'], ['pooled']),
        node('Flatten', ['pooled'], ['mean_rgb'], [intAttr('axis', 1)]),
        node('MatMul', ['mean_rgb', 'projection'], ['image_embeds']),
      ],
    }),
  );
}

export function buildTinyTextOnnx(embeddings: Float32Array, vocabSize: number, dims: number): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const seq = ['batch_size', 'sequence_length'];
  return encode(
    onnx.GraphProto.create({
      name: 'tiny_clip_text',
      input: [valueInfo('input_ids', INT64, seq), valueInfo('attention_mask', INT64, seq)],
      output: [valueInfo('text_embeds', FLOAT, ['batch_size', dims])],
      initializer: [floatTensor('token_embeddings', [vocabSize, dims], embeddings), int64Tensor('mask_axes', [2]), int64Tensor('seq_axes', [1])],
      node: [
        node('Gather', ['token_embeddings', 'input_ids'], ['token_vectors'], [intAttr('axis', 0)]),
        node('Cast', ['attention_mask'], ['mask_float'], [intAttr('to', FLOAT)]),
        node('Unsqueeze', ['mask_float', 'mask_axes'], ['mask_3d']),
        node('Mul', ['token_vectors', 'mask_3d'], ['masked']),
        node('ReduceSum', ['masked', 'seq_axes'], ['text_embeds'], [intAttr('keepdims', 0)]),
      ],
    }),
  );
}

/** Write the folder; `visionOnly` leaves the text tower out (a model that cannot search by text). */
export async function writeTinyClipModel(
  dir: string,
  opts: { dims?: number; visionOnly?: boolean; seed?: number } = {},
): Promise<{ dir: string; dims: number }> {
  const dims = opts.dims ?? 512;
  const p = projection(dims, opts.seed ?? 77);
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  const config = {
    model_type: 'clip',
    architectures: ['CLIPModel'],
    projection_dim: dims,
    text_config: { model_type: 'clip_text_model' },
    vision_config: { model_type: 'clip_vision_model', image_size: TINY_CLIP_SIZE },
  };
  const preprocessor = {
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { shortest_edge: TINY_CLIP_SIZE },
    do_center_crop: true,
    crop_size: { height: TINY_CLIP_SIZE, width: TINY_CLIP_SIZE },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    do_convert_rgb: true,
    resample: 3,
  };
  const files: Array<Promise<void>> = [
    writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2)),
    writeFile(path.join(dir, 'preprocessor_config.json'), JSON.stringify(preprocessor, null, 2)),
    writeFile(path.join(dir, 'onnx', 'vision_model.onnx'), buildTinyVisionOnnx(p, dims)),
  ];
  if (!opts.visionOnly) {
    const vocab = [...new Set<string>([...SPECIAL_TOKENS, ...WORDS, ...'abcdefghijklmnopqrstuvwxyz'])];
    const rand = mulberry32((opts.seed ?? 77) + 1);
    const emb = Float32Array.from({ length: vocab.length * dims }, () => (rand() * 2 - 1) * 0.05);
    // A pure colour after mean/std 0.5 is +1 on its channel and −1 on the others.
    const colour = (word: string, signs: [number, number, number]) => {
      const row = vocab.indexOf(word) * dims;
      for (let d = 0; d < dims; d++) emb[row + d] = signs[0] * p[d]! + signs[1] * p[dims + d]! + signs[2] * p[2 * dims + d]!;
    };
    colour('red', [1, -1, -1]);
    colour('green', [-1, 1, -1]);
    colour('blue', [-1, -1, 1]);
    const tokenizerConfig = {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 77,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    };
    files.push(
      writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(buildTinyBertTokenizerJson(vocab))),
      writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2)),
      writeFile(path.join(dir, 'onnx', 'text_model.onnx'), buildTinyTextOnnx(emb, vocab.length, dims)),
    );
  }
  await Promise.all(files);
  return { dir, dims };
}
