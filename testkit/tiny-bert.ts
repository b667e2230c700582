/**
 * A tiny BERT-shaped sentence-embedding model folder, built from nothing, for tests of the `onnx`
 * provider. Nothing is downloaded: the weights come from a seeded PRNG, the graph is written with
 * `onnx-proto`, and the tokenizer is a real WordPiece `tokenizer.json` over a small fixed vocabulary.
 *
 * Layout written (the same one a Hugging Face / Optimum export has, minus the real weights):
 *
 *   <dir>/config.json            model_type "bert", hidden_size, vocab_size, max_position_embeddings
 *   <dir>/tokenizer.json         BertNormalizer + BertPreTokenizer + WordPiece + [CLS] $A [SEP]
 *   <dir>/tokenizer_config.json  tokenizer_class BertTokenizer, model_max_length, special tokens
 *   <dir>/onnx/model.onnx        input_ids, attention_mask, token_type_ids → last_hidden_state
 *
 * The graph has no attention: each token's vector depends only on the token and its type, so texts
 * that share words share token vectors and their mean-pooled embeddings are measurably closer:
 *
 *   emb    = Gather(word_embeddings, input_ids) + Gather(token_type_embeddings, token_type_ids)
 *   hidden = Tanh(emb · dense_weight + dense_bias) * Unsqueeze(Cast<float>(attention_mask), 2)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { mulberry32 } from './random.js';

const { onnx } = onnxProto;

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Common English words plus retail/product words, all lowercase (the normaliser lowercases input). */
const DEFAULT_WORDS = `
the a an and or of to in on for with without by from at as is are was be it this that these those
you your we our they their he she his her its my me us them i not no yes all any some more most
new old best top great good better free fast easy light heavy small large big little long short
high low wide narrow soft hard warm cool cold hot dry wet clean fresh pure natural organic classic
modern vintage premium basic simple smart mini pro max plus ultra super extra set pack pair piece
one two three four five six seven eight nine ten dozen size color colour style model type kind
black white red blue green yellow orange purple pink brown grey gray silver gold beige navy tan
cotton wool leather suede silk linen denim nylon polyester fleece rubber plastic metal steel
stainless aluminum aluminium wood wooden bamboo glass ceramic stone paper cardboard foam mesh
waterproof water resistant proof windproof breathable insulated lightweight durable adjustable
portable foldable rechargeable wireless cordless electric manual automatic digital analog
shoe shoes boot boots sneaker sneakers sandal sandals slipper slippers sock socks heel heels
shirt shirts tshirt tee top tops blouse sweater hoodie jacket jackets coat coats vest dress dresses
skirt pants trousers jeans shorts leggings suit tie belt hat cap scarf glove gloves mitten
bag bags backpack wallet purse tote luggage suitcase watch watches ring necklace bracelet earring
hiking running walking trail outdoor indoor camping climbing cycling bike bicycle ski snow rain
sport sports gym yoga fitness training tennis golf soccer football basketball swim swimming beach
tent sleeping sleep pad mat bottle flask cup mug kettle pot pan skillet knife fork spoon plate bowl
kitchen cook cooking coffee tea maker grinder blender toaster oven microwave fridge freezer
table chair desk sofa couch bed mattress pillow blanket sheet towel lamp light bulb mirror rug
home house garden patio lawn tool tools drill saw hammer screwdriver wrench battery charger cable
phone phones laptop computer tablet keyboard mouse monitor screen speaker speakers headphones
earbuds camera lens tripod tv television printer router game games toy toys puzzle book books
baby kids kid child children men women man woman unisex adult family pet pets dog dogs cat cats
food snack snacks chocolate candy cookie cookies bread cheese milk juice wine beer soap shampoo
lotion cream perfume makeup brush comb razor toothbrush vitamin vitamins health care beauty
gift card sale price deal discount cheap value quality brand official original genuine authentic
`;

/** WordPiece continuation pieces so unseen words split instead of collapsing to [UNK]. */
const SUFFIXES = ['##s', '##es', '##ed', '##ing', '##er', '##est', '##ly', '##y', '##ness', '##able', '##less', '##ful'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PUNCTUATION = [...'.,!?;:\'"-()/&%$#+*=@'];

export function defaultTinyBertVocab(): string[] {
  const words = DEFAULT_WORDS.split(/\s+/).filter(Boolean);
  return [...words, ...SUFFIXES, ...LETTERS, ...[...LETTERS].map((c) => `##${c}`), ...PUNCTUATION];
}

/** `count` values uniform in [-scale, scale]. */
function uniform(rand: () => number, count: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

function floatTensor(name: string, dims: number[], values: Float32Array): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (const [i, v] of values.entries()) view.setFloat32(i * 4, v, true); // ONNX raw_data is little-endian
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

function int64Tensor(name: string, values: number[]): InstanceType<typeof onnx.TensorProto> {
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
}

function valueInfo(name: string, elemType: number, dims: Array<string | number>): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

function node(opType: string, inputs: string[], outputs: string[], attribute: InstanceType<typeof onnx.AttributeProto>[] = []) {
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, attribute });
}

function intAttr(name: string, i: number): InstanceType<typeof onnx.AttributeProto> {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
}

/** Serialise the embedding graph described at the top of this file (opset 13, IR version 8). */
export function buildTinyBertOnnx(vocabSize: number, hiddenSize: number, seed = 1234): Uint8Array {
  const rand = mulberry32(seed);
  const INT64 = onnx.TensorProto.DataType.INT64;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const wordEmbeddings = uniform(rand, vocabSize * hiddenSize, 1);
  const typeEmbeddings = uniform(rand, 2 * hiddenSize, 0.1);
  // Keeps the pre-activation near unit variance so Tanh does not saturate.
  const denseWeight = uniform(rand, hiddenSize * hiddenSize, 3 / Math.sqrt(hiddenSize));
  const denseBias = uniform(rand, hiddenSize, 0.1);

  const seq = ['batch_size', 'sequence_length'];
  const graph = onnx.GraphProto.create({
    name: 'tiny_bert',
    input: [valueInfo('input_ids', INT64, seq), valueInfo('attention_mask', INT64, seq), valueInfo('token_type_ids', INT64, seq)],
    output: [valueInfo('last_hidden_state', FLOAT, [...seq, hiddenSize])],
    initializer: [
      floatTensor('word_embeddings', [vocabSize, hiddenSize], wordEmbeddings),
      floatTensor('token_type_embeddings', [2, hiddenSize], typeEmbeddings),
      floatTensor('dense_weight', [hiddenSize, hiddenSize], denseWeight),
      floatTensor('dense_bias', [hiddenSize], denseBias),
      int64Tensor('mask_axes', [2]),
    ],
    node: [
      node('Gather', ['word_embeddings', 'input_ids'], ['word_vectors'], [intAttr('axis', 0)]),
      node('Gather', ['token_type_embeddings', 'token_type_ids'], ['type_vectors'], [intAttr('axis', 0)]),
      node('Add', ['word_vectors', 'type_vectors'], ['embeddings']),
      node('MatMul', ['embeddings', 'dense_weight'], ['projected']),
      node('Add', ['projected', 'dense_bias'], ['biased']),
      node('Tanh', ['biased'], ['activated']),
      node('Cast', ['attention_mask'], ['mask_float'], [intAttr('to', FLOAT)]),
      node('Unsqueeze', ['mask_float', 'mask_axes'], ['mask_3d']),
      node('Mul', ['activated', 'mask_3d'], ['last_hidden_state']),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'itemvec-tests',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A Hugging Face `tokenizers` JSON for an uncased WordPiece (BERT) tokenizer over `vocab`. */
export function buildTinyBertTokenizerJson(vocab: string[]): Record<string, unknown> {
  const ids: Record<string, number> = {};
  for (const [id, token] of vocab.entries()) ids[token] = id;
  const special = (token: string) => ({ id: token, ids: [ids[token]], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: ids[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

export const TINY_BERT_MAX_POSITIONS = 128;

/**
 * Write a loadable tiny BERT model folder into `dir` (created if needed). `vocab` replaces the
 * default word list; the five BERT special tokens always come first (ids 0–4).
 */
export async function writeTinyBertModel(dir: string, opts: { hiddenSize?: number; vocab?: string[] } = {}): Promise<{ dir: string; dims: number }> {
  const hiddenSize = opts.hiddenSize ?? 32;
  const vocab = [...new Set<string>([...SPECIAL_TOKENS, ...(opts.vocab ?? defaultTinyBertVocab())])];
  await mkdir(path.join(dir, 'onnx'), { recursive: true });

  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: hiddenSize,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: hiddenSize * 4,
    hidden_act: 'gelu',
    vocab_size: vocab.length,
    max_position_embeddings: TINY_BERT_MAX_POSITIONS,
    type_vocab_size: 2,
    pad_token_id: 0,
    layer_norm_eps: 1e-12,
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: TINY_BERT_MAX_POSITIONS,
    clean_up_tokenization_spaces: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
  await Promise.all([
    writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2)),
    writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(buildTinyBertTokenizerJson(vocab))),
    writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2)),
    writeFile(path.join(dir, 'onnx', 'model.onnx'), buildTinyBertOnnx(vocab.length, hiddenSize)),
  ]);
  return { dir, dims: hiddenSize };
}
